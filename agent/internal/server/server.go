// Package server serves the agent protocol (protocol/PROTOCOL.md) over a host connection: handshake,
// sessions, flow control, and the init, exec and shutdown operations.
package server

import (
	"errors"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"microsandbox/agent/internal/protocol"
	"microsandbox/agent/internal/users"
)

// System is what the server needs from the machine it runs on.
type System interface {
	// Init performs the machine side of the init operation (hostname, root switch).
	Init(req *protocol.Init) *protocol.OpError
	// ConfigureNet performs the machine side of net.configure (validated): loopback, NIC, resolv.conf, hosts.
	ConfigureNet(req *protocol.NetConfigure) *protocol.OpError
	// SetClock sets the wall clock from the host's HELLO (ms since the epoch).
	SetClock(ms int64)
	// Resume makes a VM restored from a template its own (template.resume, validated): hostname, entropy, and
	// (when not nil) the contents of resolv.conf and hosts, replacing those the template's net.configure set.
	Resume(hostname string, entropy []byte, files *protocol.NetFiles) *protocol.OpError
	// Shutdown runs after shutdown.ack was sent and every exec was terminated. As PID 1 it powers off and
	// does not return.
	Shutdown()
}

// Options configure a Server.
type Options struct {
	// AgentVersion is reported in the HELLO.
	AgentVersion string
	// Features are reported in the HELLO.
	Features []string
	// System performs machine-level actions.
	System System
	// PerConnection is development mode: "init once" holds per connection instead of per process, and
	// shutdown terminates only the requesting connection's processes.
	PerConnection bool
	// EtcDir holds the passwd and group files used to resolve users (default "/etc").
	EtcDir string
	// Logf logs a diagnostic line (default: the standard logger).
	Logf func(format string, args ...any)
}

// Server serves host connections. One Server serves any number of connections, one after another (the
// virtio port) or concurrently (development mode).
type Server struct {
	opts Options
	// users resolves exec and file users against opts.EtcDir, parsing passwd and group only when they change.
	users *users.Resolver

	// devNull is a read-only /dev/null fd every exec without piped stdin gets as its fd 0, opened on first use
	// (after the root switch); -1 when there is none.
	devNull     int
	devNullOnce sync.Once

	// chunks recycles the output pumps' read buffers (MaxDataChunk each): two per exec would otherwise be
	// allocated, zeroed and collected, which under TCG costs the guest's one vCPU more than the exec's own
	// frames do.
	chunks sync.Pool

	initMu   sync.Mutex
	initDone bool
	netDone  bool

	mu    sync.Mutex
	conns map[*conn]struct{}
}

// chunk returns a read buffer of MaxDataChunk bytes; give it back with putChunk once nothing refers to it.
func (s *Server) chunk() *[]byte {
	if b, ok := s.chunks.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, protocol.MaxDataChunk)
	return &b
}

// putChunk recycles a buffer from chunk.
func (s *Server) putChunk(b *[]byte) { s.chunks.Put(b) }

// nullFd returns the shared /dev/null fd (see Server.devNull).
func (s *Server) nullFd() int {
	s.devNullOnce.Do(func() { s.devNull = openDevNull() })
	return s.devNull
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.EtcDir == "" {
		opts.EtcDir = "/etc"
	}
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	if opts.System == nil {
		opts.System = DevSystem{}
	}
	return &Server{opts: opts, users: users.NewResolver(opts.EtcDir), conns: map[*conn]struct{}{}}
}

func (s *Server) logf(format string, args ...any) { s.opts.Logf(format, args...) }

func (s *Server) newConn(w io.Writer, abort func()) *conn {
	c := &conn{srv: s, w: newFrameWriter(w, abort)}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	return c
}

func (s *Server) dropConn(c *conn) {
	c.close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// ServeConn serves one connection until it ends, then kills the processes it started and closes nc. It
// returns nil when the host closed the connection, else the reason it was dropped.
func (s *Server) ServeConn(nc io.ReadWriteCloser) error {
	c := s.newConn(nc, func() { nc.Close() })
	c.closeTransport = func() { nc.Close() }
	err := c.serve(nc)
	s.dropConn(c)
	nc.Close()
	if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// shutdownGrace is how long processes get between SIGTERM and SIGKILL on shutdown.
const shutdownGrace = 2 * time.Second

// shutdown acknowledges a shutdown request, terminates every process and hands over to the System.
func (s *Server) shutdown(c *conn, sess *session) {
	sess.sendMsg(0, protocol.Simple{Type: protocol.TypeShutdownAck})
	s.logf("shutdown requested")
	if s.opts.PerConnection {
		sess.terminate(shutdownGrace)
	} else {
		s.TerminateAll(shutdownGrace)
	}
	s.opts.System.Shutdown()
	if c.closeTransport != nil {
		c.closeTransport()
	}
}

// TerminateAll sends SIGTERM to the processes of every session, waits up to grace, then kills the rest.
func (s *Server) TerminateAll(grace time.Duration) {
	s.mu.Lock()
	var sessions []*session
	for c := range s.conns {
		if sess := c.session(); sess != nil {
			sessions = append(sessions, sess)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, sess := range sessions {
		wg.Add(1)
		go func(sess *session) {
			defer wg.Done()
			sess.terminate(grace)
		}(sess)
	}
	wg.Wait()
}

// DevSystem is the System of development mode: no machine changes. Init without a root succeeds; init with
// a root fails (only PID 1 may switch roots). OnShutdown, if set, runs on shutdown.
type DevSystem struct {
	OnShutdown func()
}

// Init implements System.
func (d DevSystem) Init(req *protocol.Init) *protocol.OpError {
	if req.Root != nil {
		return protocol.Errorf(protocol.CodeInvalid, "init root only as PID 1")
	}
	if len(req.Mounts) > 0 {
		return protocol.FieldErrorf(protocol.CodeInvalid, "mounts", "init mounts only as PID 1")
	}
	return nil
}

// ConfigureNet implements System: development mode changes no machine state, so it refuses.
func (DevSystem) ConfigureNet(*protocol.NetConfigure) *protocol.OpError {
	return protocol.Errorf(protocol.CodeInvalid, "net.configure only as PID 1")
}

// SetClock implements System: development mode leaves the clock alone.
func (DevSystem) SetClock(int64) {}

// Resume implements System: development mode changes no machine state.
func (DevSystem) Resume(string, []byte, *protocol.NetFiles) *protocol.OpError { return nil }

// Shutdown implements System.
func (d DevSystem) Shutdown() {
	if d.OnShutdown != nil {
		d.OnShutdown()
	}
}

var startTime = time.Now()

// uptimeMs returns the machine's uptime, or the agent's when /proc is unavailable.
func uptimeMs() int64 {
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		if fields := strings.Fields(string(b)); len(fields) > 0 {
			if secs, err := strconv.ParseFloat(fields[0], 64); err == nil {
				return int64(secs * 1000)
			}
		}
	}
	return time.Since(startTime).Milliseconds()
}
