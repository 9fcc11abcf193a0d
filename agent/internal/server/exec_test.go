package server

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

func sh(script string) protocol.ExecStart {
	return protocol.ExecStart{Argv: []string{"sh", "-c", script}, Stdin: "null"}
}

func expectExit(t *testing.T, final map[string]any, code, signal int, timedOut bool) {
	t.Helper()
	if final["type"] != protocol.TypeExecExited || final["code"] != float64(code) ||
		final["signal"] != float64(signal) || final["timedOut"] != timedOut {
		t.Fatalf("got %v, want exit code %d signal %d timedOut %v", final, code, signal, timedOut)
	}
}

func expectError(t *testing.T, final map[string]any, code, contains string) {
	t.Helper()
	msg, _ := final["message"].(string)
	if final["type"] != protocol.TypeError || final["code"] != code || !strings.Contains(msg, contains) {
		t.Fatalf("got %v, want error %s containing %q", final, code, contains)
	}
}

// expectField checks the field an error names ("" for none).
func expectField(t *testing.T, final map[string]any, field string) {
	t.Helper()
	got, present := final["field"]
	if field == "" && present || field != "" && got != field {
		t.Fatalf("got %v, want field %q", final, field)
	}
}

func TestEchoAndExitCodes(t *testing.T) {
	c, _ := newHarness(t, nil)
	final, out, errOut := c.run(protocol.ExecStart{Argv: []string{"echo", "hello", "world"}})
	expectExit(t, final, 0, 0, false)
	if out != "hello world\n" || errOut != "" {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	final, _, _ = c.run(sh("exit 42"))
	expectExit(t, final, 42, 0, false)
	final, _, _ = c.run(sh("kill -TERM $$"))
	expectExit(t, final, 143, 15, false)
}

func TestStderrSeparate(t *testing.T) {
	c, _ := newHarness(t, nil)
	final, out, errOut := c.run(sh("echo out; echo err >&2; echo out2"))
	expectExit(t, final, 0, 0, false)
	if out != "out\nout2\n" || errOut != "err\n" {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
}

func TestEnvAndCwd(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	req := sh(`echo "$FOO|$(pwd)|$HOME|$TERM|$PATH"`)
	req.Env = map[string]string{"FOO": "bar baz"}
	req.Cwd = dir
	final, out, _ := c.run(req)
	expectExit(t, final, 0, 0, false)
	want := fmt.Sprintf("bar baz|%s|/root|xterm|%s\n", dir, DefaultPath)
	if out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	// PATH lookup uses the child's PATH.
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "mytool"), []byte("#!/bin/sh\necho tool $1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	req = protocol.ExecStart{Argv: []string{"mytool", "x"}, Env: map[string]string{"PATH": bin + ":/usr/bin:/bin"}}
	final, out, _ = c.run(req)
	expectExit(t, final, 0, 0, false)
	if out != "tool x\n" {
		t.Fatalf("mytool: %q", out)
	}
}

func TestExecErrors(t *testing.T) {
	c, _ := newHarness(t, nil)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		req      protocol.ExecStart
		code     string
		contains string
		field    string
	}{
		{protocol.ExecStart{Argv: []string{"definitely-not-a-command-xyz"}}, "ENOENT", "command not found: definitely-not-a-command-xyz", "argv[0]"},
		{protocol.ExecStart{Argv: []string{"/nonexistent/tool"}}, "ENOENT", "command not found: /nonexistent/tool", "argv[0]"},
		{protocol.ExecStart{Argv: []string{"true"}, Cwd: "/nonexistent-dir"}, "ENOENT", "/nonexistent-dir", "cwd"},
		{protocol.ExecStart{Argv: []string{"true"}, Cwd: file}, "ENOTDIR", file, "cwd"},
		{protocol.ExecStart{Argv: []string{"true"}, User: "no-such-user-xyz"}, "EUSER", "no-such-user-xyz", "user"},
		{protocol.ExecStart{Argv: []string{"true"}, Env: map[string]string{"A=B": "x"}}, "EINVAL", "env", "env"},
		{protocol.ExecStart{Argv: []string{"true"}, Tty: &protocol.TtySize{Rows: 0, Cols: 80}}, "EINVAL", "tty.rows", "tty.rows"},
		{protocol.ExecStart{Argv: []string{"true"}, Tty: &protocol.TtySize{Rows: 24, Cols: 65536}}, "EINVAL", "tty.cols", "tty.cols"},
		{protocol.ExecStart{Argv: []string{}}, "EINVAL", "argv", "argv"},
		{protocol.ExecStart{Argv: []string{"true"}, Stdin: "tty"}, "EINVAL", "stdin", "stdin"},
		{protocol.ExecStart{Argv: []string{"true"}, TimeoutMs: -1}, "EINVAL", "timeoutMs", "timeoutMs"},
		{protocol.ExecStart{Argv: []string{"echo", strings.Repeat("a", 200000)}}, "E2BIG", "too long", "argv"},
		{protocol.ExecStart{Argv: []string{"true"}, Env: map[string]string{"BIG": strings.Repeat("a", 200000)}}, "E2BIG", "too long", "env"},
	}
	for _, tc := range cases {
		final, _, _ := c.run(tc.req)
		expectError(t, final, tc.code, tc.contains)
		expectField(t, final, tc.field)
	}
	// A malformed exec.start (wrong field type) is EINVAL naming the field.
	s := c.open(map[string]any{"type": "exec.start", "argv": "not-an-array"})
	final := c.wait(s, 5*time.Second)
	expectError(t, final, "EINVAL", "exec.start")
	expectField(t, final, "argv")
	s = c.open(map[string]any{"type": "exec.start", "argv": []string{"true"}, "tty": map[string]any{"rows": "x"}})
	final = c.wait(s, 5*time.Second)
	expectError(t, final, "EINVAL", "exec.start")
	expectField(t, final, "tty.rows")
	// Unknown fields are rejected, never dropped.
	s = c.open(map[string]any{"type": "exec.start", "argv": []string{"true"}, "stdinn": "pipe"})
	final = c.wait(s, 5*time.Second)
	expectError(t, final, "EINVAL", "stdinn")
	expectField(t, final, "stdinn")
	s = c.open(map[string]any{"type": "exec.start", "argv": []string{"true"}, "tty": map[string]any{"rows": 1, "cols": 1, "x": 1}})
	expectError(t, c.wait(s, 5*time.Second), "EINVAL", `"x"`)
}

func TestConcurrentExecs(t *testing.T) {
	c, _ := newHarness(t, nil)
	const n = 25
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			final, out, _ := c.run(sh(fmt.Sprintf("sleep 0.2; echo %d; exit %d", i, i)))
			expectExit(t, final, i, 0, false)
			if out != fmt.Sprintf("%d\n", i) {
				t.Errorf("exec %d: stdout %q", i, out)
			}
		}(i)
	}
	wg.Wait()
}

func allBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}

func TestBinaryOutput(t *testing.T) {
	c, _ := newHarness(t, nil)
	data := make([]byte, 0, 1024)
	for i := 0; i < 4; i++ {
		for b := 0; b < 256; b++ {
			data = append(data, byte(b))
		}
	}
	file := filepath.Join(t.TempDir(), "bytes")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	final, out, errOut := c.run(sh("cat " + file + "; cat " + file + " >&2"))
	expectExit(t, final, 0, 0, false)
	if out != string(data) || errOut != string(data) {
		t.Fatalf("binary output differs: %d/%d bytes", len(out), len(errOut))
	}
}

func TestLargeOutputHonoursWindow(t *testing.T) {
	c, _ := newHarness(t, nil)
	c.creditDelay = 5 * time.Millisecond
	data := allBytes(10<<20 + 12345)
	file := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := c.exec(protocol.ExecStart{Argv: []string{"cat", file}})
	expectExit(t, c.wait(s, 60*time.Second), 0, 0, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !bytes.Equal(s.stdout.Bytes(), data) {
		t.Fatalf("output differs: got %d bytes, want %d", s.stdout.Len(), len(data))
	}
	if s.maxOut > protocol.InitialWindow || s.maxOut < protocol.InitialWindow/2 {
		t.Fatalf("max outstanding %d: window not used as expected", s.maxOut)
	}
}

func TestTimeout(t *testing.T) {
	c, _ := newHarness(t, nil)
	req := sh("echo before; sleep 30")
	req.TimeoutMs = 300
	start := time.Now()
	final, out, _ := c.run(req)
	expectExit(t, final, 137, 9, true)
	if out != "before\n" || time.Since(start) > 5*time.Second {
		t.Fatalf("stdout %q after %v", out, time.Since(start))
	}
}

func TestSignal(t *testing.T) {
	c, _ := newHarness(t, nil)
	s := c.exec(sh("sleep 30"))
	c.started(s)
	c.send(s.id, protocol.KindControl, protocol.Marshal(protocol.ExecSignal{Type: protocol.TypeExecSignal, Signal: 15}))
	expectExit(t, c.wait(s, 10*time.Second), 143, 15, false)
}
