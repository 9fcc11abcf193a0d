package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// Every operation the table gives the agent has a handler, and nothing else has one; the same for the
// stream-0 requests.
func TestHandlersMatchOperationTable(t *testing.T) {
	agentOps := map[string]bool{}
	for _, op := range protocol.Operations {
		if op.Handler == protocol.HandlerAgent {
			agentOps[op.Open] = true
			if handlers[op.Open] == nil {
				t.Errorf("operation %q has no handler", op.Open)
			}
		}
	}
	for typ := range handlers {
		if !agentOps[typ] {
			t.Errorf("handler for %q, which is not an agent operation of the table", typ)
		}
	}
	if len(connHandlers) != len(protocol.Connection) {
		t.Errorf("%d stream-0 handlers, %d connection requests", len(connHandlers), len(protocol.Connection))
	}
	for _, r := range protocol.Connection {
		if connHandlers[r.Request] == nil {
			t.Errorf("connection request %q has no handler", r.Request)
		}
	}
}

func TestUnknownOperationsAreNotSupported(t *testing.T) {
	c, _ := newHarness(t, nil)
	for _, typ := range []string{"no.such.op", protocol.TypeSupStats, protocol.TypeExecExited} {
		final := c.wait(c.open(protocol.Simple{Type: typ}), 5*time.Second)
		expectError(t, final, protocol.CodeNotSup, typ)
	}
	// A message without a type is malformed.
	expectError(t, c.wait(c.open(map[string]any{"argv": []string{"true"}}), 5*time.Second), "EINVAL", "type")
	// The connection stays up.
	if m := c.control0(map[string]any{"type": "ping", "id": 1}); m["type"] != "pong" {
		t.Fatalf("ping: %v", m)
	}
	// A follow-up of a stream that is not open (its operation ended) gets no answer at all (the client
	// flags any frame after a terminal message, and on unknown streams).
	s := c.exec(protocol.ExecStart{Argv: []string{"true"}})
	expectExit(t, c.wait(s, 10*time.Second), 0, 0, false)
	c.followUp(s, protocol.ExecSignal{Type: protocol.TypeExecSignal, Signal: 9})
	c.followUp(s, protocol.Simple{Type: protocol.TypeStreamCancel})
	if n := c.stats(); n != 0 {
		t.Fatalf("stats: %d", n)
	}
}

func TestStrictParsing(t *testing.T) {
	c, _ := newHarness(t, nil)
	final := c.wait(c.open(map[string]any{"type": "stats", "verbose": true}), 5*time.Second)
	expectError(t, final, "EINVAL", "verbose")
	expectField(t, final, "verbose")
	final = c.wait(c.open(map[string]any{"type": "init", "hostname": "sb", "root": map[string]any{"serial": "x", "extra": 1}}), 5*time.Second)
	expectError(t, final, "EINVAL", "extra")
	final = c.wait(c.open(map[string]any{"type": "init", "hostname": "sb", "mounts": []any{
		map[string]any{"kind": "tmpfs", "target": "/ok", "readonly": false},
		map[string]any{"kind": "tmpfs", "target": "/proc/x", "readonly": false}}}), 5*time.Second)
	expectError(t, final, "EINVAL", "/proc/x is reserved")
	expectField(t, final, "mounts[1].target")
	final = c.wait(c.open(map[string]any{"type": "init", "hostname": "sb", "mounts": []any{
		map[string]any{"kind": "tmpfs", "target": "/t", "readonly": false, "mode": 511}}}), 5*time.Second)
	expectError(t, final, "EINVAL", "mode")
	final = c.wait(c.open(map[string]any{"type": "net.configure", "interface": map[string]any{"mac": 5}}), 5*time.Second)
	expectError(t, final, "EINVAL", "net.configure")
	expectField(t, final, "interface.mac")
	// Stream 0: a ping with an unknown field is dropped (stream 0 has no error reply); the next one works.
	c.send(0, protocol.KindControl, []byte(`{"type":"ping","id":1,"x":2}`))
	if m := c.control0(map[string]any{"type": "ping", "id": 2}); m["type"] != "pong" || m["id"] != float64(2) {
		t.Fatalf("ping: %v", m)
	}
	// A follow-up the operation does not allow, or with an unknown field, is ignored.
	s := c.exec(protocol.ExecStart{Argv: []string{"sh", "-c", "read line; echo got $line"}, Stdin: "pipe"})
	c.started(s)
	c.followUp(s, protocol.Init{Type: protocol.TypeInit, Hostname: "x"})
	c.followUp(s, map[string]any{"type": "exec.signal", "signal": 9, "now": true})
	c.followUp(s, map[string]any{"type": "stream.cancel", "really": true})
	c.writeStdin(s, []byte("yes\n"))
	expectExit(t, c.wait(s, 10*time.Second), 0, 0, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if got := s.stdout.String(); got != "got yes\n" {
		t.Fatalf("stdout %q", got)
	}
}

func TestStats(t *testing.T) {
	c, _ := newHarness(t, nil)
	if n := c.stats(); n != 0 {
		t.Fatalf("stats on an idle session: %d", n)
	}
	var streams []*cstream
	for i := 0; i < 3; i++ {
		s := c.exec(sh("sleep 30"))
		c.started(s)
		streams = append(streams, s)
	}
	if n := c.stats(); n != 3 {
		t.Fatalf("stats with 3 execs: %d", n)
	}
	for _, s := range streams {
		c.followUp(s, protocol.ExecSignal{Type: protocol.TypeExecSignal, Signal: 9})
		expectExit(t, c.wait(s, 10*time.Second), 137, 9, false)
	}
	// An operation leaves the session before its terminal message goes out: no waiting needed.
	if n := c.stats(); n != 0 {
		t.Fatalf("stats after the execs ended: %d", n)
	}
}

func TestStreamLimit(t *testing.T) {
	if maxStreams != protocol.MaxStreamsPerSession {
		t.Fatalf("bound %d, the table says %d", maxStreams, protocol.MaxStreamsPerSession)
	}
	// Starting 1024 processes takes seconds: the same code runs with a smaller bound.
	maxStreams = 16
	defer func() { maxStreams = protocol.MaxStreamsPerSession }()
	c, _ := newHarness(t, nil)
	var streams []*cstream
	for i := 0; i < maxStreams; i++ {
		streams = append(streams, c.exec(protocol.ExecStart{Argv: []string{"sleep", "60"}}))
	}
	// Operations are counted as their opening messages arrive: the next one is refused at once.
	expectError(t, c.wait(c.exec(protocol.ExecStart{Argv: []string{"true"}}), 10*time.Second), protocol.CodeAgain, "open")
	expectError(t, c.wait(c.open(protocol.Simple{Type: protocol.TypeStats}), 10*time.Second), protocol.CodeAgain, "open")
	// One ends: there is room for one more.
	c.started(streams[0])
	c.followUp(streams[0], protocol.Simple{Type: protocol.TypeStreamCancel})
	expectExit(t, c.wait(streams[0], 10*time.Second), 137, 9, false)
	if n := c.stats(); n != maxStreams-1 {
		t.Fatalf("stats: %d", n)
	}
}

// sendControl sends a CONTROL message of any size, in CONTINUE parts as the host does.
func (c *testClient) sendControl(stream uint32, payload []byte) {
	for len(payload) > protocol.MaxPayload {
		c.send(stream, protocol.KindContinue, payload[:protocol.MaxPayload])
		payload = payload[protocol.MaxPayload:]
	}
	c.send(stream, protocol.KindControl, payload)
}

func TestContinuedControlMessage(t *testing.T) {
	c, _ := newHarness(t, nil)
	env := map[string]string{}
	for i := 0; i < 14; i++ { // 1.4 MB: more than a frame, less than the exec limit
		env[fmt.Sprintf("V%d", i)] = strings.Repeat(string(rune('a'+i)), 100000)
	}
	req := protocol.ExecStart{Type: protocol.TypeExecStart, Argv: []string{"sh", "-c", `printf '%s' "$V13" | wc -c`}, Env: env}
	payload := protocol.Marshal(req)
	if len(payload) <= protocol.MaxPayload {
		t.Fatalf("message of %d bytes fits one frame", len(payload))
	}
	s := c.newStream()
	// Stream 0 traffic between the parts is fine.
	c.send(s.id, protocol.KindContinue, payload[:protocol.MaxPayload])
	if m := c.control0(map[string]any{"type": "ping", "id": 3}); m["type"] != "pong" {
		t.Fatalf("ping between parts: %v", m)
	}
	c.sendControl(s.id, payload[protocol.MaxPayload:])
	expectExit(t, c.wait(s, 10*time.Second), 0, 0, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if got := strings.TrimSpace(s.stdout.String()); got != "100000" {
		t.Fatalf("stdout %q", got)
	}
}

func TestBrokenContinueDropsConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		next  func(c *testClient, id uint32)
		class string
	}{
		{"stdin inside a message", func(c *testClient, id uint32) { c.send(id, protocol.KindStdin, []byte("x")) }, protocol.ErrTruncated},
		{"over the limit", func(c *testClient, id uint32) {
			part := bytes.Repeat([]byte{' '}, protocol.MaxPayload)
			for i := 0; i < protocol.MaxControlMessage/protocol.MaxPayload; i++ {
				c.send(id, protocol.KindContinue, part)
			}
		}, protocol.ErrOversize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, serveErr := newHarness(t, nil)
			s := c.exec(sh("sleep 30"))
			pid := c.started(s)
			c.send(9, protocol.KindContinue, []byte(`{"type":`))
			tc.next(c, 9)
			select {
			case err := <-serveErr:
				serveErr <- err
				if protocol.ClassOf(err) != tc.class {
					t.Fatalf("ServeConn returned %v, want class %s", err, tc.class)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("violation not detected")
			}
			waitGone(t, pid)
		})
	}
}
