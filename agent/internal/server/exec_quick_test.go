package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// A short command with output crosses the transport in one write too: exec.started, its output on both
// channels (read from the pipes after its exit), the EOFs and exec.exited. (A busy host may take longer than
// startedHold to run it, so one of a few runs must do it.)
func TestShortExecWithOutputIsOneWrite(t *testing.T) {
	log := &writeLog{}
	c, _ := newHarnessOn(t, nil, func(nc net.Conn) io.ReadWriteCloser { log.Conn = nc; return log })
	want := []string{protocol.TypeExecStarted, "STDOUT", "STDERR", "STDOUT", "STDERR", protocol.TypeExecExited}
	var last [][]string
	for i := 0; i < 5; i++ {
		s := c.exec(sh("echo out; echo err >&2"))
		expectExit(t, c.wait(s, 10*time.Second), 0, 0, false)
		c.mu.Lock()
		out, errOut := s.stdout.String(), s.stderr.String()
		c.mu.Unlock()
		if out != "out\n" || errOut != "err\n" {
			t.Fatalf("stdout %q, stderr %q", out, errOut)
		}
		last = log.streamWrites(t, s.id)
		if len(last) == 1 && strings.Join(last[0], " ") == strings.Join(want, " ") {
			return
		}
	}
	t.Fatalf("5 runs, none in one write of %v; the last: %v", want, last)
}

// A command that exits at once while a background job still holds its stdout: what it printed comes at once,
// and what the job prints later still arrives before the end (a pump takes the pipe over).
func TestQuickExitWithBackgroundJob(t *testing.T) {
	c, _ := newHarness(t, nil)
	s := c.exec(sh("(sleep 0.15; echo late) & echo early"))
	c.waitStdout(s, "early\n")
	final := c.wait(s, 10*time.Second)
	expectExit(t, final, 0, 0, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if got := s.stdout.String(); got != "early\nlate\n" {
		t.Fatalf("stdout %q", got)
	}
}

// A command that exits at once leaving a background job that writes without end, to a host that grants no
// more credit: stream.cancel still ends the stream (the drain after the exit is bounded; then the discarding
// pump's fixed deadline applies), and the writer dies of SIGPIPE once the pipe is closed.
func TestQuickExitEndlessBackgroundWriterCancel(t *testing.T) {
	c, _ := newHarness(t, nil)
	c.setNoCredit(true)
	s := c.exec(sh("yes &"))
	c.started(s)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		out := s.outstanding
		c.mu.Unlock()
		if out >= protocol.InitialWindow {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d bytes sent", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	c.followUp(s, protocol.Simple{Type: protocol.TypeStreamCancel})
	expectExit(t, c.wait(s, 5*time.Second), 0, 0, false)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("exec.exited %v after stream.cancel", took)
	}
	if n := c.stats(); n != 0 {
		t.Fatalf("%d operations still open", n)
	}
}
