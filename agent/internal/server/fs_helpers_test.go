package server

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// fsRun runs a file operation: it sends msg, then input (if not nil) and the end of input, and returns the
// terminal message and the output.
func (c *testClient) fsRun(msg any, input []byte) (map[string]any, []byte) {
	c.t.Helper()
	s := c.open(msg)
	if input != nil {
		c.writeStdin(s, input)
		c.endInput(s)
	}
	final := c.wait(s, 60*time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	return final, append([]byte(nil), s.stdout.Bytes()...)
}

// endInput sends the end of a stream's input.
func (c *testClient) endInput(s *cstream) { c.send(s.id, protocol.KindStdin, nil) }

// grant returns the credit a no-credit phase held back.
func (c *testClient) grant(s *cstream) {
	c.mu.Lock()
	g := s.unacked
	s.unacked = 0
	s.outstanding -= g
	c.mu.Unlock()
	if g > 0 {
		c.send(s.id, protocol.KindWindow, protocol.WindowPayload(uint32(g)))
	}
}

// waitOutstanding waits until the agent used up the stream's window (it then waits for credit).
func (c *testClient) waitOutstanding(s *cstream) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		out, final := s.outstanding, s.final
		c.mu.Unlock()
		if out >= protocol.InitialWindow {
			return
		}
		if final != nil || time.Now().After(deadline) {
			c.t.Fatalf("stream %d: %d bytes outstanding, final %v", s.id, out, final)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// expectDone checks an fs.done with bytes (-1: any).
func expectDone(t *testing.T, final map[string]any, bytes int64) {
	t.Helper()
	if final["type"] != protocol.TypeFsDone || bytes >= 0 && final["bytes"] != float64(bytes) {
		t.Fatalf("got %v, want fs.done with %d bytes", final, bytes)
	}
}

// expectFsError checks an error's code and field.
func expectFsError(t *testing.T, final map[string]any, code, field string) {
	t.Helper()
	expectError(t, final, code, "")
	expectField(t, final, field)
}

func fsRead(path string) protocol.FsRead {
	return protocol.FsRead{Type: protocol.TypeFsRead, Path: path}
}

func fsWrite(path string) protocol.FsWrite {
	return protocol.FsWrite{Type: protocol.TypeFsWrite, Path: path}
}

func fsPath(typ, path string) protocol.FsPath { return protocol.FsPath{Type: typ, Path: path} }

func int64p(v int64) *int64 { return &v }

// dirNames returns the sorted names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// modeOf returns the permission bits of path (lstat).
func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
}

// writeFiles creates files (name -> content) below dir, with their parents.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// mustRead returns a file's content.
func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lines splits NDJSON output into its lines.
func lines(out []byte) []string {
	s := strings.TrimSuffix(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// bytesReader reads a string.
func bytesReader(s string) *strings.Reader { return strings.NewReader(s) }

// statOf returns the lstat of path (zero when it does not exist).
func statOf(t *testing.T, path string) syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	_ = syscall.Lstat(path, &st)
	return st
}
