package server

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"microsandbox/agent/internal/protocol"
)

// conn is one host connection: a byte stream in each direction, one writer, and the current session.
type conn struct {
	srv *Server
	w   *frameWriter
	// closeTransport closes the underlying connection (development mode); nil for the port.
	closeTransport func()

	mu       sync.Mutex
	sess     *session // nil before the first usable HELLO
	initDone bool     // per connection in development mode
	netDone  bool     // per connection in development mode
	closed   bool
}

// violation is a protocol error by the host: the connection is dropped.
type violation struct{ msg string }

// Error implements error.
func (v *violation) Error() string { return "protocol violation: " + v.msg }

// serve reads frames until the byte stream ends (io.EOF), breaks the framing (*protocol.FrameError) or
// violates the protocol (*violation).
func (c *conn) serve(r io.Reader) error {
	d := protocol.NewDecoder(r)
	for {
		f, err := d.Next()
		if err != nil {
			return err
		}
		if err := c.handle(f); err != nil {
			return err
		}
	}
}

func (c *conn) session() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

func (c *conn) handle(f protocol.Frame) error {
	if f.Kind == protocol.KindHello {
		c.hello(f.Payload)
		return nil
	}
	sess := c.session()
	if sess == nil {
		c.srv.logf("ignoring %s on stream %d before a usable HELLO", f.Kind, f.Stream)
		return nil
	}
	switch f.Kind {
	case protocol.KindControl:
		if f.Stream == 0 {
			c.connControl(sess, f.Payload)
		} else {
			c.streamControl(sess, f.Stream, f.Payload)
		}
	case protocol.KindStdin:
		if x := sess.get(f.Stream); x != nil && x.in != nil {
			if err := x.in.push(f.Payload); err != nil {
				return &violation{fmt.Sprintf("stream %d: %v", f.Stream, err)}
			}
		}
	case protocol.KindWindow:
		if x := sess.get(f.Stream); x != nil {
			x.win.add(f.WindowCredit())
		}
	default:
		c.srv.logf("ignoring %s from the host on stream %d", f.Kind, f.Stream)
	}
	return nil
}

// hello answers a host HELLO and starts a new session, ending the previous one.
func (c *conn) hello(payload []byte) {
	var h protocol.HostHello
	if err := unmarshal(payload, &h); err != nil || h.Type != protocol.TypeHello {
		c.srv.logf("malformed host HELLO (%v): answering version 0", err)
		h = protocol.HostHello{}
	}
	version := protocol.Negotiate(h.MinVersion, h.MaxVersion, protocol.MinVersion, protocol.MaxVersion)
	if version != 0 && h.TimeMs > 0 {
		c.srv.opts.System.SetClock(h.TimeMs)
	}
	reply := protocol.AgentHello{
		Type: protocol.TypeHello, MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion,
		Version: version, AgentVersion: c.srv.opts.AgentVersion, Features: c.srv.opts.Features,
		UptimeMs: uptimeMs(),
	}
	// The new epoch starts with our HELLO: from then on, frames of the previous session are dropped.
	epoch, err := c.w.startEpoch(protocol.Marshal(reply))
	c.mu.Lock()
	old := c.sess
	c.sess = nil
	c.mu.Unlock()
	if old != nil {
		c.srv.logf("new HELLO: ending the previous session")
		old.end()
	}
	if err != nil || version == 0 {
		if version == 0 {
			c.srv.logf("host speaks protocol %d..%d: no common version", h.MinVersion, h.MaxVersion)
		}
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.sess = newSession(c, epoch)
	}
	c.mu.Unlock()
}

// connControl handles stream-0 messages.
func (c *conn) connControl(sess *session, payload []byte) {
	var env protocol.Envelope
	if err := unmarshal(payload, &env); err != nil {
		c.srv.logf("stream 0: malformed control message: %v", err)
		return
	}
	switch env.Type {
	case protocol.TypePing:
		var p protocol.Ping
		if err := unmarshal(payload, &p); err != nil {
			c.srv.logf("stream 0: malformed ping: %v", err)
			return
		}
		go sess.sendMsg(0, protocol.Pong{Type: protocol.TypePong, ID: p.ID})
	case protocol.TypeShutdown:
		go c.srv.shutdown(c, sess)
	default:
		c.srv.logf("stream 0: ignoring unknown message %q", env.Type)
	}
}

// streamControl handles a CONTROL message on a non-zero stream: a message for a running exec, or a new
// operation.
func (c *conn) streamControl(sess *session, id uint32, payload []byte) {
	var env protocol.Envelope
	envErr := unmarshal(payload, &env)
	if x := sess.get(id); x != nil {
		if envErr == nil {
			x.control(env.Type, payload)
		}
		return
	}
	fail := func(e *protocol.OpError) { go sess.sendMsg(id, e.Msg()) }
	switch {
	case id >= protocol.GuestStreamBase:
		fail(protocol.Errorf(protocol.CodeInvalid, "stream %d is reserved for the guest", id))
	case envErr != nil:
		fail(protocol.Errorf(protocol.CodeInvalid, "malformed control message: %v", envErr))
	case env.Type == protocol.TypeExecStart:
		var req protocol.ExecStart
		if err := unmarshal(payload, &req); err != nil {
			fail(protocol.Errorf(protocol.CodeInvalid, "exec.start: %v", err))
			return
		}
		x := newExecStream(sess, id, req.Stdin == "pipe")
		if sess.add(x) {
			go x.run(&req)
		}
	case env.Type == protocol.TypeInit:
		var req protocol.Init
		if err := unmarshal(payload, &req); err != nil {
			fail(protocol.Errorf(protocol.CodeInvalid, "init: %v", err))
			return
		}
		go c.init(sess, id, &req)
	case env.Type == protocol.TypeNetConfigure:
		var req protocol.NetConfigure
		if err := unmarshal(payload, &req); err != nil {
			fail(protocol.Errorf(protocol.CodeInvalid, "net.configure: %v", err))
			return
		}
		go c.netConfigure(sess, id, &req)
	case env.Type == protocol.TypeExecSignal:
		// The exec already finished: nothing to signal, and nothing may be sent on its stream.
	default:
		fail(protocol.Errorf(protocol.CodeInvalid, "unknown operation %q", env.Type))
	}
}

// init runs the init operation (once per boot; once per connection in development mode).
func (c *conn) init(sess *session, id uint32, req *protocol.Init) {
	srv := c.srv
	srv.initMu.Lock()
	defer srv.initMu.Unlock()
	done := &srv.initDone
	if srv.opts.PerConnection {
		done = &c.initDone
	}
	if *done {
		sess.sendMsg(id, protocol.Errorf(protocol.CodeAlready, "init already done").Msg())
		return
	}
	if err := validateInit(req); err != nil {
		sess.sendMsg(id, err.Msg())
		return
	}
	if err := srv.opts.System.Init(req); err != nil {
		sess.sendMsg(id, err.Msg())
		return
	}
	*done = true
	sess.sendMsg(id, protocol.Simple{Type: protocol.TypeInitDone})
}

// close ends the connection: the session's processes are killed and nothing more is written.
func (c *conn) close() {
	c.mu.Lock()
	c.closed = true
	sess := c.sess
	c.sess = nil
	c.mu.Unlock()
	if sess != nil {
		sess.end()
	}
	c.w.kill()
}

func validateInit(req *protocol.Init) *protocol.OpError {
	if len(req.Hostname) > 64 || strings.ContainsAny(req.Hostname, "\x00/ \t\n") {
		return protocol.Errorf(protocol.CodeInvalid, "hostname: must be at most 64 characters without spaces or '/'")
	}
	if r := req.Root; r != nil {
		if r.Serial == "" || len(r.Serial) > 20 {
			return protocol.Errorf(protocol.CodeInvalid, "root.serial: must be 1 to 20 characters")
		}
		if r.Fstype != "" && !isWord(r.Fstype) {
			return protocol.Errorf(protocol.CodeInvalid, "root.fstype: invalid %q", r.Fstype)
		}
	}
	return nil
}

func isWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}
