package server

import (
	"os"
	"strings"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

func ttyExec(script string, rows, cols int) protocol.ExecStart {
	return protocol.ExecStart{Argv: []string{"sh", "-c", script}, Stdin: "pipe", Tty: &protocol.TtySize{Rows: rows, Cols: cols}}
}

func skipWithoutPtmx(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	}
}

func TestPtyMasterIsPollable(t *testing.T) {
	skipWithoutPtmx(t)
	master, slave, err := openPty(24, 80)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	slave.Close()
	// A read deadline works (os.ErrNoDeadline for a file outside the poller), and with the slave closed the
	// master reads EIO.
	if err := master.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	if _, err := master.Read(make([]byte, 16)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("read with the slave closed: %v", err)
	}
	if err := setWinsize(master, 40, 120); err != nil {
		t.Fatalf("setWinsize: %v", err)
	}
}

func TestTtyIsTerminal(t *testing.T) {
	skipWithoutPtmx(t)
	c, _ := newHarness(t, nil)
	req := ttyExec("tty -s && test -t 0 && test -t 1 && test -t 2 && echo yes >/dev/tty && echo err >&2", 24, 80)
	req.Stdin = "null"
	final, out, errOut := c.run(req)
	expectExit(t, final, 0, 0, false)
	// Everything arrives on stdout, with the terminal's CRLF line ends; stderr ends at once.
	if out != "yes\r\nerr\r\n" || errOut != "" {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	// Without a terminal, stdin is not one.
	final, _, _ = c.run(sh("test -t 0"))
	expectExit(t, final, 1, 0, false)
}

func TestTtySizeAndResize(t *testing.T) {
	skipWithoutPtmx(t)
	c, _ := newHarness(t, nil)
	final, out, _ := c.run(ttyExec("stty size", 24, 80))
	expectExit(t, final, 0, 0, false)
	if out != "24 80\r\n" {
		t.Fatalf("stty size: %q", out)
	}
	s := c.exec(ttyExec("stty size; read x; stty size", 30, 100))
	c.waitStdout(s, "30 100\r\n")
	c.followUp(s, protocol.ExecResize{Type: protocol.TypeExecResize, Rows: 40, Cols: 120})
	c.followUp(s, protocol.ExecResize{Type: protocol.TypeExecResize, Rows: 0, Cols: 120}) // invalid: ignored
	c.writeStdin(s, []byte("go\n"))
	expectExit(t, c.wait(s, 10*time.Second), 0, 0, false)
	c.mu.Lock()
	got := s.stdout.String()
	c.mu.Unlock()
	if got != "30 100\r\ngo\r\n40 120\r\n" {
		t.Fatalf("stdout %q", got)
	}
	// exec.resize without a terminal is ignored.
	p := c.exec(protocol.ExecStart{Argv: []string{"sh", "-c", "read x; echo $x"}, Stdin: "pipe"})
	c.started(p)
	c.followUp(p, protocol.ExecResize{Type: protocol.TypeExecResize, Rows: 40, Cols: 120})
	c.writeStdin(p, []byte("ok\n"))
	c.send(p.id, protocol.KindStdin, nil)
	expectExit(t, c.wait(p, 10*time.Second), 0, 0, false)
}

func TestTtyInputAndEOF(t *testing.T) {
	skipWithoutPtmx(t)
	c, _ := newHarness(t, nil)
	// A line typed reaches the process (and is echoed by the terminal).
	s := c.exec(protocol.ExecStart{Argv: []string{"head", "-n1"}, Stdin: "pipe", Tty: &protocol.TtySize{Rows: 24, Cols: 80}})
	c.writeStdin(s, []byte("hello\n"))
	expectExit(t, c.wait(s, 10*time.Second), 0, 0, false)
	c.mu.Lock()
	got := s.stdout.String()
	c.mu.Unlock()
	if got != "hello\r\nhello\r\n" {
		t.Fatalf("head: %q", got)
	}
	// The end of input is ^D: cat sees EOF and exits.
	s = c.exec(protocol.ExecStart{Argv: []string{"cat"}, Stdin: "pipe", Tty: &protocol.TtySize{Rows: 24, Cols: 80}})
	c.writeStdin(s, []byte("abc\n"))
	c.waitStdout(s, "abc\r\nabc\r\n")
	c.send(s.id, protocol.KindStdin, nil)
	expectExit(t, c.wait(s, 10*time.Second), 0, 0, false)
}

func TestTtySignalAndDrain(t *testing.T) {
	skipWithoutPtmx(t)
	c, _ := newHarness(t, nil)
	s := c.exec(ttyExec("sleep 30", 24, 80))
	c.started(s)
	c.followUp(s, protocol.ExecSignal{Type: protocol.TypeExecSignal, Signal: 15})
	expectExit(t, c.wait(s, 10*time.Second), 143, 15, false)
	// A process in another session keeps the terminal open: the agent stops waiting once the master stayed
	// idle for the grace period (a read deadline on the master).
	start := time.Now()
	final, out, _ := c.run(ttyExec("setsid sleep 5 & sleep 0.2; echo done", 24, 80))
	expectExit(t, final, 0, 0, false)
	if took := time.Since(start); out != "done\r\n" || took < 200*time.Millisecond+drainGrace || took > 4*time.Second {
		t.Fatalf("stdout %q, took %v", out, took)
	}
}
