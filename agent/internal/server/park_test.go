package server

import (
	"encoding/json"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// portPair is a connected socket pair: the guest end as the pollable *os.File ServePort reads, the host end as
// a plain file the test writes frames to and decodes replies from.
func portPair(t *testing.T) (guest, host *os.File) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	guest, host = os.NewFile(uintptr(fds[0]), "guest"), os.NewFile(uintptr(fds[1]), "host")
	t.Cleanup(func() { guest.Close(); host.Close() })
	return guest, host
}

// TestParkStopsReadingBeforeItAnswers is the guarantee a template snapshot relies on: once the host has the
// answer to template.park, nothing more of that connection is read. Bytes the host sends after it (the tail of
// a connection a restored VM never sees whole) are skipped, and the next HELLO starts a clean session.
func TestParkStopsReadingBeforeItAnswers(t *testing.T) {
	guest, host := portPair(t)
	// ServePort never returns: after the test its goroutine must not log through t.
	var done atomic.Bool
	t.Cleanup(func() { done.Store(true) })
	logf := func(format string, args ...any) {
		if !done.Load() {
			t.Logf(format, args...)
		}
	}
	srv := New(Options{AgentVersion: "test", Features: protocol.AgentFeatures, Logf: logf})
	go srv.ServePort(guest)
	dec := protocol.NewDecoder(host)
	next := func() (protocol.Frame, map[string]any) {
		t.Helper()
		_ = host.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := dec.Next()
		if err != nil {
			t.Fatalf("reading the agent: %v", err)
		}
		var msg map[string]any
		_ = json.Unmarshal(f.Payload, &msg)
		return f, msg
	}
	send := func(stream uint32, kind protocol.Kind, msg any) {
		t.Helper()
		if _, err := host.Write(protocol.EncodeFrame(stream, kind, protocol.Marshal(msg))); err != nil {
			t.Fatal(err)
		}
	}
	hello := protocol.HostHello{Type: "hello", MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion}

	send(0, protocol.KindHello, hello)
	if f, _ := next(); f.Kind != protocol.KindHello {
		t.Fatalf("first reply is %v, want HELLO", f.Kind)
	}
	send(1, protocol.KindControl, protocol.Simple{Type: protocol.TypeTemplatePark})
	if f, msg := next(); f.Stream != 1 || msg["type"] != protocol.TypeInitDone {
		t.Fatalf("park answered %v on stream %d", msg, f.Stream)
	}
	// Sent to the parked connection: never executed, and never answered.
	send(3, protocol.KindControl, protocol.ExecStart{Type: protocol.TypeExecStart, Argv: []string{"true"}})
	send(0, protocol.KindHello, hello)
	if f, _ := next(); f.Kind != protocol.KindHello {
		t.Fatalf("after park the next reply is %v on stream %d, want the new session's HELLO", f.Kind, f.Stream)
	}
	send(0, protocol.KindControl, protocol.Ping{Type: protocol.TypePing, ID: json.RawMessage("7")})
	if f, msg := next(); f.Stream != 0 || msg["type"] != protocol.TypePong {
		t.Fatalf("the new session answered %v on stream %d, want pong", msg, f.Stream)
	}
}
