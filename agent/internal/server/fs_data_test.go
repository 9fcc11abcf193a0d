package server

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

func TestFsWriteReadBinary(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	data := make([]byte, 0, 300000)
	for len(data) < cap(data) {
		for b := 0; b < 256 && len(data) < cap(data); b++ {
			data = append(data, byte(b))
		}
	}
	path := filepath.Join(dir, "a", "b", "bin") // parents are created
	final, _ := c.fsRun(fsWrite(path), data)
	expectDone(t, final, int64(len(data)))
	if m := modeOf(t, path); m != 0o644 {
		t.Fatalf("new file mode %v, want 0644", m)
	}
	if m := modeOf(t, filepath.Join(dir, "a")); m != 0o755 {
		t.Fatalf("parent mode %v, want 0755", m)
	}
	s := c.open(fsRead(path))
	final = c.wait(s, 10*time.Second)
	expectDone(t, final, int64(len(data)))
	c.mu.Lock()
	got, eof := s.stdout.Bytes(), s.outEOF
	c.mu.Unlock()
	if !bytes.Equal(got, data) || !eof {
		t.Fatalf("read %d bytes (EOF frame %v), want %d", len(got), eof, len(data))
	}
	// Ranges.
	for _, tc := range []struct {
		offset int64
		length *int64
		want   []byte
	}{
		{1000, int64p(256), data[1000:1256]},
		{299990, nil, data[299990:]},
		{400000, nil, nil},
		{5, int64p(0), nil},
		{0, int64p(1 << 40), data},
	} {
		req := fsRead(path)
		req.Offset, req.Length = tc.offset, tc.length
		final, out := c.fsRun(req, nil)
		expectDone(t, final, int64(len(tc.want)))
		if !bytes.Equal(out, tc.want) {
			t.Fatalf("offset %d: got %d bytes, want %d", tc.offset, len(out), len(tc.want))
		}
	}
	// An empty write makes an empty file.
	final, _ = c.fsRun(fsWrite(filepath.Join(dir, "empty")), []byte{})
	expectDone(t, final, 0)
	if mustRead(t, filepath.Join(dir, "empty")) != "" {
		t.Fatal("empty file has content")
	}
}

func TestFsWriteModesAndAppend(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(old, 0o640); err != nil {
		t.Fatal(err)
	}
	// Replacing keeps the old file's mode; an explicit mode wins (exactly, whatever the umask).
	final, _ := c.fsRun(fsWrite(old), []byte("new"))
	expectDone(t, final, 3)
	if m := modeOf(t, old); m != 0o640 || mustRead(t, old) != "new" {
		t.Fatalf("mode %v content %q", m, mustRead(t, old))
	}
	req := fsWrite(old)
	req.Mode = int64p(0o4777)
	final, _ = c.fsRun(req, []byte("x"))
	expectDone(t, final, 1)
	if m := modeOf(t, old); m != 0o777|os.ModeSetuid {
		t.Fatalf("mode %v, want 04777", m)
	}
	// Through a symlink: the target is replaced, the link stays.
	link := filepath.Join(dir, "link")
	if err := os.Symlink("old", link); err != nil {
		t.Fatal(err)
	}
	final, _ = c.fsRun(fsWrite(link), []byte("via link"))
	expectDone(t, final, 8)
	if target, err := os.Readlink(link); err != nil || target != "old" || mustRead(t, old) != "via link" {
		t.Fatalf("link %q %v, content %q", target, err, mustRead(t, old))
	}
	// Append: created with mode when missing, appended in place after.
	app := filepath.Join(dir, "sub", "log")
	req = fsWrite(app)
	req.Append, req.Mode = true, int64p(0o600)
	final, _ = c.fsRun(req, []byte("one\n"))
	expectDone(t, final, 4)
	req.Mode = int64p(0o644) // ignored: the file exists
	final, _ = c.fsRun(req, []byte("two\n"))
	expectDone(t, final, 4)
	if got := mustRead(t, app); got != "one\ntwo\n" || modeOf(t, app) != 0o600 {
		t.Fatalf("append: %q mode %v", got, modeOf(t, app))
	}
	// Errors.
	final, _ = c.fsRun(fsWrite(dir), []byte("x"))
	expectFsError(t, final, "EISDIR", "path")
	final, _ = c.fsRun(fsWrite(filepath.Join(old, "child")), []byte("x"))
	expectFsError(t, final, "ENOTDIR", "path")
	req = fsWrite(dir)
	req.Append = true
	final, _ = c.fsRun(req, []byte("x"))
	expectFsError(t, final, "EISDIR", "path")
	if names := dirNames(t, dir); len(names) != 3 {
		t.Fatalf("left behind: %v", names)
	}
}

// A 64 MiB file goes in and comes back out intact, under flow control both ways.
func TestFsLargeRoundTrip(t *testing.T) {
	c, _ := newHarness(t, nil)
	data := allBytes(64 << 20)
	want := sha256.Sum256(data)
	path := filepath.Join(t.TempDir(), "big")
	final, _ := c.fsRun(fsWrite(path), data)
	expectDone(t, final, int64(len(data)))
	s := c.open(fsRead(path))
	expectDone(t, c.wait(s, 60*time.Second), int64(len(data)))
	c.mu.Lock()
	got := sha256.Sum256(s.stdout.Bytes())
	maxOut := s.maxOut
	s.stdout.Reset()
	c.mu.Unlock()
	if got != want {
		t.Fatal("read back differs")
	}
	if maxOut > protocol.InitialWindow {
		t.Fatalf("window exceeded: %d", maxOut)
	}
}

// A write that never sees its EOF leaves the old file untouched and no temporary file: cancelled, or cut off
// by the session's end.
func TestFsWriteInterrupted(t *testing.T) {
	for _, how := range []string{"cancel", "session end"} {
		t.Run(how, func(t *testing.T) {
			c, _ := newHarness(t, nil)
			dir := t.TempDir()
			path := filepath.Join(dir, "file")
			if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
				t.Fatal(err)
			}
			s := c.open(fsWrite(path))
			c.writeStdin(s, allBytes(1<<20))
			waitFor(t, func() bool { return len(dirNames(t, dir)) == 2 }) // the temporary file exists
			if how == "cancel" {
				c.followUp(s, protocol.Simple{Type: protocol.TypeStreamCancel})
				expectFsError(t, c.wait(s, 10*time.Second), protocol.CodeCanceled, "")
			} else {
				c.hello(1, 1)
			}
			waitFor(t, func() bool { return len(dirNames(t, dir)) == 1 })
			if got := mustRead(t, path); got != "old" || modeOf(t, path) != 0o640 {
				t.Fatalf("old file changed: %q %v", got, modeOf(t, path))
			}
			if n := c.stats(); n != 0 {
				t.Fatalf("%d operations open", n)
			}
		})
	}
}

// A read (or list) that waits for credit ends at once on stream.cancel.
func TestFsCancelWithoutCredit(t *testing.T) {
	c, _ := newHarness(t, nil)
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, allBytes(4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	c.setNoCredit(true)
	for _, msg := range []any{fsRead(path), fsPath(protocol.TypeFsArchiveRead, filepath.Dir(path))} {
		s := c.open(msg)
		c.waitOutstanding(s)
		c.followUp(s, protocol.Simple{Type: protocol.TypeStreamCancel})
		expectFsError(t, c.wait(s, 5*time.Second), protocol.CodeCanceled, "")
	}
	c.setNoCredit(false)
	if n := c.stats(); n != 0 {
		t.Fatalf("%d operations open", n)
	}
}

func TestFsCopy(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, allBytes(100000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o751); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "x", "y", "dst")
	final, _ := c.fsRun(protocol.FsFromTo{Type: protocol.TypeFsCopy, From: src, To: dst}, nil)
	expectDone(t, final, 100000)
	if !bytes.Equal([]byte(mustRead(t, dst)), allBytes(100000)) || modeOf(t, dst) != 0o751 {
		t.Fatalf("copy differs, mode %v", modeOf(t, dst))
	}
	for _, tc := range []struct{ from, to, code, field string }{
		{dir, filepath.Join(dir, "d2"), "EISDIR", "from"},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "d3"), "ENOENT", "from"},
		{src, filepath.Join(dir, "x"), "EISDIR", "to"},
		{src, filepath.Join(src, "child"), "ENOTDIR", "to"},
	} {
		final, _ := c.fsRun(protocol.FsFromTo{Type: protocol.TypeFsCopy, From: tc.from, To: tc.to}, nil)
		expectFsError(t, final, tc.code, tc.field)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
