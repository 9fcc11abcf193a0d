package server

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

func TestStdinPipeRoundTrip(t *testing.T) {
	c, _ := newHarness(t, nil)
	data := allBytes(3<<20 + 77) // far more than one window: the agent must return STDIN credit
	s := c.exec(protocol.ExecStart{Argv: []string{"cat"}, Stdin: "pipe"})
	c.writeStdin(s, data)
	c.send(s.id, protocol.KindStdin, nil)
	expectExit(t, c.wait(s, 30*time.Second), 0, 0, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !bytes.Equal(s.stdout.Bytes(), data) {
		t.Fatalf("echoed %d bytes, want %d", s.stdout.Len(), len(data))
	}
}

func TestStdinWindowOverrunDropsConnection(t *testing.T) {
	c, serveErr := newHarness(t, nil)
	s := c.exec(protocol.ExecStart{Argv: []string{"sleep", "30"}, Stdin: "pipe"})
	pid := c.started(s)
	chunk := make([]byte, protocol.MaxDataChunk)
	for i := 0; i <= protocol.InitialWindow/len(chunk); i++ {
		c.send(s.id, protocol.KindStdin, chunk)
	}
	select {
	case err := <-serveErr:
		serveErr <- err // for the cleanup
		var v *violation
		if !errors.As(err, &v) {
			t.Fatalf("ServeConn returned %v, want a protocol violation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("overrun not detected")
	}
	waitGone(t, pid)
}

func TestGrandchildrenDoNotDelayExit(t *testing.T) {
	c, _ := newHarness(t, nil)
	start := time.Now()
	// A background job in the process group keeps stdout open: it is killed with the group.
	final, out, _ := c.run(sh("sleep 30 & echo done"))
	expectExit(t, final, 0, 0, false)
	if out != "done\n" || time.Since(start) > 2*time.Second {
		t.Fatalf("stdout %q, took %v", out, time.Since(start))
	}
	// A process that left the group (setsid) keeps the pipe open: the agent stops waiting once the pipe
	// stayed idle for the grace period.
	start = time.Now()
	final, out, _ = c.run(sh("setsid sleep 5 & sleep 0.2; echo done2"))
	expectExit(t, final, 0, 0, false)
	if took := time.Since(start); out != "done2\n" || took < 200*time.Millisecond+drainGrace || took > 5*time.Second {
		t.Fatalf("stdout %q, took %v", out, took)
	}
}

// waitGone waits until pid no longer exists (it was killed and reaped).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewHelloResetsSession(t *testing.T) {
	c, _ := newHarness(t, nil)
	s := c.exec(sh("echo started; sleep 30"))
	pid := c.started(s)
	if h := c.hello(1, 1); h.Version != 1 {
		t.Fatalf("second handshake: %+v", h)
	}
	waitGone(t, pid)
	// The old stream sends nothing more (the client flags any frame on a stale stream); the new session
	// works.
	if m := c.control0(protocol.Ping{Type: "ping", ID: []byte("7")}); m["type"] != "pong" || m["id"] != float64(7) {
		t.Fatalf("ping after reset: %v", m)
	}
	final, out, _ := c.run(protocol.ExecStart{Argv: []string{"echo", "again"}})
	expectExit(t, final, 0, 0, false)
	if out != "again\n" {
		t.Fatalf("stdout %q", out)
	}
	time.Sleep(100 * time.Millisecond)
}

func TestVersionMismatch(t *testing.T) {
	c, _ := newHarness(t, nil)
	if h := c.hello(2, 3); h.Version != 0 || h.MinVersion != 1 || h.MaxVersion != 1 {
		t.Fatalf("mismatched hello: %+v", h)
	}
	// Without a usable session, operations are ignored; a proper HELLO makes the connection usable again.
	c.hello(1, 1)
	final, _, _ := c.run(protocol.ExecStart{Argv: []string{"true"}})
	expectExit(t, final, 0, 0, false)
}

func TestFramingErrorDropsConnection(t *testing.T) {
	c, serveErr := newHarness(t, nil)
	s := c.exec(sh("sleep 30"))
	pid := c.started(s)
	c.wmu.Lock()
	_, _ = c.nc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	c.wmu.Unlock()
	select {
	case err := <-serveErr:
		serveErr <- err
		if protocol.ClassOf(err) != protocol.ErrOversize {
			t.Fatalf("ServeConn returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("framing error not detected")
	}
	waitGone(t, pid)
}

func TestPingInitShutdown(t *testing.T) {
	shut := make(chan struct{})
	c, serveErr := newHarness(t, DevSystem{OnShutdown: func() { close(shut) }})
	if m := c.control0(map[string]any{"type": "ping", "id": 41}); m["type"] != "pong" || m["id"] != float64(41) {
		t.Fatalf("pong: %v", m)
	}
	withRoot := c.open(protocol.Init{Type: "init", Hostname: "sb", Root: &protocol.RootSpec{Serial: "root", Fstype: "ext4"}})
	expectError(t, c.wait(withRoot, 5*time.Second), "EINVAL", "PID 1")
	withMounts := c.open(protocol.Init{Type: "init", Hostname: "sb", Mounts: []protocol.GuestMount{{Kind: "tmpfs", Target: "/t"}}})
	expectError(t, c.wait(withMounts, 5*time.Second), "EINVAL", "PID 1")
	first := c.open(protocol.Init{Type: "init", Hostname: "sb"})
	if m := c.wait(first, 5*time.Second); m["type"] != "init.done" {
		t.Fatalf("init: %v", m)
	}
	second := c.open(protocol.Init{Type: "init", Hostname: "sb"})
	expectError(t, c.wait(second, 5*time.Second), "EALREADY", "init")

	s := c.exec(sh("trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"))
	pid := c.started(s)
	c.waitStdout(s, "ready") // the trap is installed
	if m := c.control0(map[string]any{"type": "shutdown"}); m["type"] != "shutdown.ack" {
		t.Fatalf("shutdown: %v", m)
	}
	expectExit(t, c.wait(s, 5*time.Second), 3, 0, false)
	select {
	case <-shut:
	case <-time.After(5 * time.Second):
		t.Fatal("System.Shutdown not called")
	}
	select {
	case err := <-serveErr:
		serveErr <- err
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed after shutdown")
	}
	waitGone(t, pid)
}
