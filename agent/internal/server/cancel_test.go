package server

import (
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// A host that stops granting credit (it hit its output limit, or stopped caring) cancels the stream: the
// process dies, the pumps stop waiting for credit, and exec.exited comes.
func TestCancelWithoutCredit(t *testing.T) {
	c, _ := newHarness(t, nil)
	c.setNoCredit(true)
	for _, tc := range []struct {
		name string
		req  protocol.ExecStart
	}{
		{"pipes", protocol.ExecStart{Argv: []string{"yes"}, Stdin: "pipe"}},
		{"tty", protocol.ExecStart{Argv: []string{"yes"}, Stdin: "pipe", Tty: &protocol.TtySize{Rows: 24, Cols: 80}}},
		// A writer in another session survives the group kill and never stops: the discarding pump's
		// deadline is fixed, so it cannot hold the stream open.
		{"endless background writer", protocol.ExecStart{Argv: []string{"sh", "-c", "setsid yes & exec yes >&2"}}},
	} {
		if tc.req.Tty != nil {
			skipWithoutPtmx(t)
		}
		s := c.exec(tc.req)
		pid := c.started(s)
		// Wait until the window is used up: the pumps block on credit.
		deadline := time.Now().Add(10 * time.Second)
		for {
			c.mu.Lock()
			out := s.outstanding
			c.mu.Unlock()
			if out >= protocol.InitialWindow {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: only %d bytes sent", tc.name, out)
			}
			time.Sleep(5 * time.Millisecond)
		}
		start := time.Now()
		c.followUp(s, protocol.Simple{Type: protocol.TypeStreamCancel})
		c.followUp(s, protocol.Simple{Type: protocol.TypeStreamCancel}) // repeated: harmless
		expectExit(t, c.wait(s, 5*time.Second), 137, 9, false)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: exec.exited %v after stream.cancel", tc.name, took)
		}
		waitGone(t, pid)
		if n := c.stats(); n != 0 {
			t.Fatalf("%s: %d operations still open", tc.name, n)
		}
	}
}

// stream.cancel right behind exec.start (before the process exists) still ends in exec.exited.
func TestCancelBeforeStart(t *testing.T) {
	c, _ := newHarness(t, nil)
	s := c.exec(sh("sleep 30"))
	c.followUp(s, protocol.Simple{Type: protocol.TypeStreamCancel})
	expectExit(t, c.wait(s, 5*time.Second), 137, 9, false)
}

// When the host goes away while a stream waits for credit, the session's end kills it just the same.
func TestSessionEndWithoutCredit(t *testing.T) {
	c, _ := newHarness(t, nil)
	c.setNoCredit(true)
	s := c.exec(protocol.ExecStart{Argv: []string{"yes"}})
	pid := c.started(s)
	c.hello(1, 1)
	waitGone(t, pid)
	c.setNoCredit(false)
	if n := c.stats(); n != 0 {
		t.Fatalf("%d operations open in the new session", n)
	}
}

func (c *testClient) setNoCredit(v bool) {
	c.mu.Lock()
	c.noCredit = v
	c.mu.Unlock()
}
