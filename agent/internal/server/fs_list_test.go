package server

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

func TestFsList(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"file": "12345", "sub/inner": "x"})
	if err := os.Chmod(filepath.Join(dir, "file"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := time.UnixMilli(1700000000123)
	if err := os.Chtimes(filepath.Join(dir, "file"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	final, out := c.fsRun(fsPath(protocol.TypeFsList, dir), nil)
	expectDone(t, final, int64(len(out)))
	got := map[string]protocol.FsEntry{}
	for _, line := range lines(out) {
		var e protocol.FsEntry
		d := json.NewDecoder(bytesReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got[e.Name] = e
	}
	want := map[string]protocol.FsEntry{
		"file": {Name: "file", Kind: "file", Size: 5, Mode: 0o640, Modified: mtime.UnixMilli()},
		"sub":  {Name: "sub", Kind: "directory", Mode: 0o755},
		"link": {Name: "link", Kind: "symlink", Size: 3, Mode: 0o777},
		"fifo": {Name: "fifo", Kind: "other", Mode: 0o600},
	}
	if len(got) != len(want) {
		t.Fatalf("entries %v", got)
	}
	for name, w := range want {
		g := got[name]
		if name != "file" { // times (and a directory's size) are the filesystem's
			w.Modified = g.Modified
		}
		if name == "sub" {
			w.Size = g.Size
		}
		if g != w {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
	}
	final, _ = c.fsRun(fsPath(protocol.TypeFsList, filepath.Join(dir, "file")), nil)
	expectFsError(t, final, "ENOTDIR", "path")
	final, _ = c.fsRun(fsPath(protocol.TypeFsList, filepath.Join(dir, "missing")), nil)
	expectFsError(t, final, "ENOENT", "path")
	final, _ = c.fsRun(fsPath(protocol.TypeFsList, filepath.Join(dir, "fifo")), nil) // never opened
	expectFsError(t, final, "ENOTDIR", "path")
}

// 100,000 entries stream in bounded memory: while the agent waits for credit it holds a batch, not the
// listing.
func TestFsListHugeDirectory(t *testing.T) {
	const n = 100000
	dir := memTempDir(t)
	for i := 0; i < n; i++ {
		fd, err := syscall.Open(filepath.Join(dir, fmt.Sprintf("entry-%06d", i)), syscall.O_CREAT|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd)
	}
	c, _ := newHarness(t, nil)
	c.setNoCredit(true)
	before := heapInUse()
	s := c.open(fsPath(protocol.TypeFsList, dir))
	c.waitOutstanding(s)
	time.Sleep(50 * time.Millisecond) // the agent is blocked on credit
	grown := heapInUse() - before
	t.Logf("heap growth while blocked: %d bytes", grown)
	if grown > 4<<20 {
		t.Errorf("heap grew by %d bytes while listing %d entries", grown, n)
	}
	c.setNoCredit(false)
	c.grant(s)
	final := c.wait(s, 30*time.Second)
	c.mu.Lock()
	out := append([]byte(nil), s.stdout.Bytes()...)
	c.mu.Unlock()
	expectDone(t, final, int64(len(out)))
	seen := map[string]bool{}
	for _, line := range lines(out) {
		var e protocol.FsEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Kind != "file" {
			t.Fatalf("line %q: %v", line, err)
		}
		seen[e.Name] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct entries, want %d", len(seen), n)
	}
}

// memTempDir returns a temporary directory on tmpfs (/dev/shm) when there is one, where creating 100,000
// files takes a fraction of a second, else t.TempDir().
func memTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "msb-fs-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// heapInUse returns the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
