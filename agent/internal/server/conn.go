package server

import (
	"encoding/json"
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
	// cancelRead makes the pending and later reads of this connection fail (the port only: template.park).
	cancelRead func() error

	// asm reassembles CONTROL messages sent in CONTINUE parts (used by the read loop only).
	asm protocol.Assembler

	mu       sync.Mutex
	sess     *session // nil before the first usable HELLO
	initDone bool     // per connection in development mode
	netDone  bool     // per connection in development mode
	closed   bool
	park     *parkRequest // a template.park waiting for the read loop to end
}

// violation is a protocol error by the host: the connection is dropped.
type violation struct{ msg string }

// Error implements error.
func (v *violation) Error() string { return "protocol violation: " + v.msg }

// serve reads frames until the byte stream ends (io.EOF), breaks the framing (*protocol.FrameError, also for
// a broken CONTINUE sequence) or violates the protocol (*violation).
func (c *conn) serve(r io.Reader) error {
	d := protocol.NewDecoder(r)
	for {
		f, err := d.Next()
		if err != nil {
			return err
		}
		f, whole, err := c.asm.Accept(f)
		if err != nil {
			return err
		}
		if !whole {
			continue
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
		if d := sess.getData(f.Stream); d != nil && d.in != nil {
			if err := d.in.push(f.Payload); err != nil {
				return &violation{fmt.Sprintf("stream %d: %v", f.Stream, err)}
			}
		}
	case protocol.KindWindow:
		if d := sess.getData(f.Stream); d != nil {
			d.win.add(f.WindowCredit())
		}
	default:
		c.srv.logf("ignoring %s from the host on stream %d", f.Kind, f.Stream)
	}
	return nil
}

// hello answers a host HELLO and starts a new session, ending the previous one.
func (c *conn) hello(payload []byte) {
	var h protocol.HostHello
	// The HELLO is parsed leniently: the version negotiation, not field checks, decides compatibility.
	if err := json.Unmarshal(payload, &h); err != nil || h.Type != protocol.TypeHello {
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

// init runs the init operation (once per boot; once per connection in development mode).
func (c *conn) init(sess *session, id uint32, req *protocol.Init) {
	sess.finish(id, c.initResult(req))
}

// initResult performs init and returns its terminal message.
func (c *conn) initResult(req *protocol.Init) any {
	srv := c.srv
	srv.initMu.Lock()
	defer srv.initMu.Unlock()
	done := &srv.initDone
	if srv.opts.PerConnection {
		done = &c.initDone
	}
	if *done {
		return protocol.Errorf(protocol.CodeAlready, "init already done").Msg()
	}
	if err := validateInit(req); err != nil {
		return err.Msg()
	}
	if err := srv.opts.System.Init(req); err != nil {
		return err.Msg()
	}
	*done = true
	return protocol.Simple{Type: protocol.TypeInitDone}
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
	if e := validateHostname(req.Hostname); e != nil {
		return e
	}
	if r := req.Root; r != nil {
		if r.Serial == "" || len(r.Serial) > 20 {
			return protocol.FieldErrorf(protocol.CodeInvalid, "root.serial", "root.serial: must be 1 to 20 characters")
		}
		if r.Fstype != "" && !isWord(r.Fstype) {
			return protocol.FieldErrorf(protocol.CodeInvalid, "root.fstype", "root.fstype: invalid %q", r.Fstype)
		}
	}
	return protocol.ValidateMounts(req.Mounts)
}

func validateHostname(name string) *protocol.OpError {
	if len(name) > 64 || strings.ContainsAny(name, "\x00/ \t\n") {
		return protocol.FieldErrorf(protocol.CodeInvalid, "hostname", "hostname: must be at most 64 characters without spaces or '/'")
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
