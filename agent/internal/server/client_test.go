package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// testClient is a strict host: it checks every frame the agent sends against the protocol (window,
// ordering, nothing after a terminal message) and reports violations as test errors.
type testClient struct {
	t      *testing.T
	nc     net.Conn
	wmu    sync.Mutex
	mu     sync.Mutex
	nextID uint32
	// creditDelay delays every WINDOW grant (slow consumer).
	creditDelay time.Duration
	// noCredit stops WINDOW grants altogether (a host that hit its output limit, or vanished).
	noCredit bool
	streams  map[uint32]*cstream
	conn0    chan map[string]any
	hellos   chan protocol.AgentHello
	readDone chan error
}

// cstream is the client side of one stream.
type cstream struct {
	id                  uint32
	stdout, stderr      bytes.Buffer
	outEOF, errEOF      bool
	msgs                []map[string]any
	final               map[string]any
	stale               bool
	outstanding, maxOut int64
	unacked             int64
	sendCredit          int64
	creditCond          *sync.Cond
	done                chan struct{}
	started             chan int
}

// socketPair returns two connected unix stream sockets.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}

// newHarness starts a development-mode server on one end of a socket pair and returns a client on the
// other, already handshaken. serveErr receives ServeConn's result.
func newHarness(t *testing.T, sys System) (c *testClient, serveErr chan error) {
	t.Helper()
	return newHarnessOn(t, sys, func(nc net.Conn) io.ReadWriteCloser { return nc })
}

// newHarnessOn is newHarness with the server's end of the connection wrapped by wrap (to observe its writes).
func newHarnessOn(t *testing.T, sys System, wrap func(net.Conn) io.ReadWriteCloser) (c *testClient, serveErr chan error) {
	t.Helper()
	var logMu sync.Mutex
	testDone := false
	logf := func(format string, args ...any) { // t.Logf panics once the test has completed
		logMu.Lock()
		defer logMu.Unlock()
		if !testDone {
			t.Logf(format, args...)
		}
	}
	t.Cleanup(func() {
		logMu.Lock()
		testDone = true
		logMu.Unlock()
	})
	srv := New(Options{AgentVersion: "test", Features: protocol.AgentFeatures, System: sys, PerConnection: true,
		Logf: logf})
	a, b := socketPair(t)
	serveErr = make(chan error, 1)
	go func() { serveErr <- srv.ServeConn(wrap(a)) }()
	c = &testClient{t: t, nc: b, nextID: 1, streams: map[uint32]*cstream{},
		conn0: make(chan map[string]any, 16), hellos: make(chan protocol.AgentHello, 4), readDone: make(chan error, 1)}
	go c.readLoop()
	t.Cleanup(func() {
		b.Close()
		select {
		case <-serveErr:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop after the client closed")
		}
	})
	if h := c.hello(1, 1); h.Version != 1 {
		t.Fatalf("handshake: %+v", h)
	}
	return c, serveErr
}

func (c *testClient) send(stream uint32, kind protocol.Kind, payload []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.nc.Write(protocol.EncodeFrame(stream, kind, payload)); err != nil {
		c.t.Logf("client write: %v", err)
	}
}

func (c *testClient) hello(min, max uint32) protocol.AgentHello {
	c.send(0, protocol.KindHello, protocol.Marshal(protocol.HostHello{Type: "hello", MinVersion: min,
		MaxVersion: max, TimeMs: time.Now().UnixMilli()}))
	select {
	case h := <-c.hellos:
		return h
	case <-time.After(10 * time.Second):
		c.t.Fatal("no agent HELLO")
	}
	return protocol.AgentHello{}
}

// newStream registers a new stream without sending anything.
func (c *testClient) newStream() *cstream {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &cstream{id: c.nextID, sendCredit: protocol.InitialWindow, creditCond: sync.NewCond(&c.mu),
		done: make(chan struct{}), started: make(chan int, 1)}
	c.nextID++
	c.streams[s.id] = s
	return s
}

// open registers a new stream and sends its first message.
func (c *testClient) open(msg any) *cstream {
	s := c.newStream()
	c.send(s.id, protocol.KindControl, protocol.Marshal(msg))
	return s
}

// followUp sends a CONTROL message on an open stream.
func (c *testClient) followUp(s *cstream, msg any) {
	c.send(s.id, protocol.KindControl, protocol.Marshal(msg))
}

// stats runs the stats operation and returns the number of other operations open.
func (c *testClient) stats() int {
	c.t.Helper()
	m := c.wait(c.open(protocol.Simple{Type: protocol.TypeStats}), 5*time.Second)
	n, ok := m["streams"].(float64)
	if m["type"] != protocol.TypeStatsResult || !ok {
		c.t.Fatalf("stats: %v", m)
	}
	return int(n)
}

// waitStats waits until stats reports want other operations open.
func (c *testClient) waitStats(want int) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := c.stats()
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("stats: %d operations open, want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *testClient) exec(req protocol.ExecStart) *cstream {
	req.Type = protocol.TypeExecStart
	return c.open(req)
}

// wait returns the stream's terminal message.
func (c *testClient) wait(s *cstream, timeout time.Duration) map[string]any {
	c.t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		c.t.Fatalf("stream %d: no terminal message within %v", s.id, timeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.final
}

// started waits for exec.started and returns the pid.
func (c *testClient) started(s *cstream) int {
	c.t.Helper()
	select {
	case pid := <-s.started:
		return pid
	case <-s.done:
		c.t.Fatalf("stream %d ended without exec.started: %v", s.id, s.final)
	case <-time.After(10 * time.Second):
		c.t.Fatalf("stream %d: no exec.started", s.id)
	}
	return 0
}

// waitStdout waits until the stream's stdout contains want.
func (c *testClient) waitStdout(s *cstream, want string) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := s.stdout.String()
		c.mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("stream %d: stdout %q never contained %q", s.id, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run executes req and returns the terminal message, stdout and stderr.
func (c *testClient) run(req protocol.ExecStart) (map[string]any, string, string) {
	c.t.Helper()
	s := c.exec(req)
	final := c.wait(s, 20*time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	return final, s.stdout.String(), s.stderr.String()
}

// writeStdin sends data within the stream's send credit.
func (c *testClient) writeStdin(s *cstream, data []byte) {
	for len(data) > 0 {
		c.mu.Lock()
		for s.sendCredit == 0 && s.final == nil {
			s.creditCond.Wait()
		}
		if s.final != nil {
			c.mu.Unlock()
			return
		}
		n := int64(len(data))
		if n > s.sendCredit {
			n = s.sendCredit
		}
		if n > protocol.MaxDataChunk {
			n = protocol.MaxDataChunk
		}
		s.sendCredit -= n
		c.mu.Unlock()
		c.send(s.id, protocol.KindStdin, data[:n])
		data = data[n:]
	}
}

func (c *testClient) control0(msg any) map[string]any {
	c.t.Helper()
	c.send(0, protocol.KindControl, protocol.Marshal(msg))
	select {
	case m := <-c.conn0:
		return m
	case <-time.After(10 * time.Second):
		c.t.Fatal("no answer on stream 0")
	}
	return nil
}

func (c *testClient) readLoop() {
	d := protocol.NewDecoder(c.nc)
	for {
		f, err := d.Next()
		if err != nil {
			c.readDone <- err
			return
		}
		c.frame(f)
	}
}

func (c *testClient) frame(f protocol.Frame) {
	if f.Kind == protocol.KindHello {
		var h protocol.AgentHello
		if err := json.Unmarshal(f.Payload, &h); err != nil {
			c.t.Errorf("bad agent HELLO: %v", err)
		}
		c.mu.Lock()
		for _, s := range c.streams {
			s.stale = true
		}
		c.mu.Unlock()
		c.hellos <- h
		return
	}
	var msg map[string]any
	if f.Kind == protocol.KindControl {
		if err := json.Unmarshal(f.Payload, &msg); err != nil {
			c.t.Errorf("stream %d: bad control payload %q", f.Stream, f.Payload)
			return
		}
	}
	if f.Stream == 0 {
		if f.Kind != protocol.KindControl {
			c.t.Errorf("agent sent %s on stream 0", f.Kind)
			return
		}
		c.conn0 <- msg
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[f.Stream]
	switch {
	case s == nil:
		c.t.Errorf("agent sent %s on unknown stream %d", f.Kind, f.Stream)
		return
	case s.stale:
		c.t.Errorf("agent sent %s on stream %d of an earlier session", f.Kind, f.Stream)
		return
	case s.final != nil:
		c.t.Errorf("agent sent %s %s on stream %d after its terminal message", f.Kind, f.Payload, f.Stream)
		return
	}
	switch f.Kind {
	case protocol.KindControl:
		c.control(s, msg)
	case protocol.KindStdout, protocol.KindStderr:
		c.data(s, f)
	case protocol.KindWindow:
		s.sendCredit += int64(f.WindowCredit())
		s.creditCond.Broadcast()
	default:
		c.t.Errorf("agent sent host-only kind %s", f.Kind)
	}
}
