package server

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

func TestFsStat(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(file, 0o4751); err != nil {
		t.Fatal(err)
	}
	mtime := time.UnixMilli(1600000000456)
	if err := os.Chtimes(file, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../elsewhere", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	final, _ := c.fsRun(fsPath(protocol.TypeFsStat, file), nil)
	if final["type"] != protocol.TypeFsStatResult || final["kind"] != "file" || final["size"] != float64(5) ||
		final["mode"] != float64(0o4751) || final["uid"] != float64(0) || final["gid"] != float64(0) ||
		final["modified"] != float64(mtime.UnixMilli()) || final["readonly"] != false {
		t.Fatalf("file: %v", final)
	}
	if _, ok := final["target"]; ok {
		t.Fatalf("target on a file: %v", final)
	}
	// ext4 and tmpfs record birth times.
	if created, ok := final["created"].(float64); ok {
		if d := time.Since(time.UnixMilli(int64(created))); d < 0 || d > time.Minute {
			t.Fatalf("created %v ago", d)
		}
	} else {
		t.Logf("no birth time on this filesystem: %v", final)
	}
	final, _ = c.fsRun(fsPath(protocol.TypeFsStat, filepath.Join(dir, "link")), nil)
	if final["kind"] != "symlink" || final["target"] != "../elsewhere" || final["mode"] != float64(0o777) {
		t.Fatalf("link (dangling): %v", final)
	}
	final, _ = c.fsRun(fsPath(protocol.TypeFsStat, dir), nil)
	if final["kind"] != "directory" || final["mode"] != float64(modeOf(t, dir).Perm()) {
		t.Fatalf("dir: %v", final)
	}
	final, _ = c.fsRun(fsPath(protocol.TypeFsStat, "/dev/null"), nil)
	if final["kind"] != "other" {
		t.Fatalf("/dev/null: %v", final)
	}
	final, _ = c.fsRun(fsPath(protocol.TypeFsStat, filepath.Join(dir, "missing")), nil)
	expectFsError(t, final, "ENOENT", "path")
	final, _ = c.fsRun(fsPath(protocol.TypeFsStat, filepath.Join(file, "child")), nil)
	expectFsError(t, final, "ENOTDIR", "path")
}

// The permission-bit answer used on kernels without faccessat2.
func TestFsMayWrite(t *testing.T) {
	st := &syscall.Stat_t{Uid: 1000, Gid: 100, Mode: syscall.S_IFREG | 0o640}
	for _, tc := range []struct {
		cred fsCred
		want bool
	}{
		{fsCred{uid: 0}, true},
		{fsCred{uid: 1000, gid: 5}, true},
		{fsCred{uid: 1001, gid: 100}, false},
		{fsCred{uid: 1001, gid: 5, groups: []uint32{100}}, false},
	} {
		if got := tc.cred.mayWrite(st); got != tc.want {
			t.Errorf("%+v: %v", tc.cred, got)
		}
	}
	st.Mode |= 0o022
	if !(fsCred{uid: 1001, gid: 5, groups: []uint32{100}}).mayWrite(st) || !(fsCred{uid: 7, gid: 7}).mayWrite(st) {
		t.Error("group and other write bits are ignored")
	}
}

func TestFsMkdir(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	old := syscall.Umask(0o077) // modes are exact whatever the umask
	defer syscall.Umask(old)
	deep := filepath.Join(dir, "a", "b", "c")
	final, _ := c.fsRun(protocol.FsMkdir{Type: protocol.TypeFsMkdir, Path: deep, Mode: int64p(0o1770)}, nil)
	expectDone(t, final, 0)
	if modeOf(t, deep) != 0o770|os.ModeSticky || modeOf(t, filepath.Join(dir, "a")) != 0o755 {
		t.Fatalf("modes %v %v", modeOf(t, deep), modeOf(t, filepath.Join(dir, "a")))
	}
	final, _ = c.fsRun(protocol.FsMkdir{Type: protocol.TypeFsMkdir, Path: deep}, nil) // exists: fine
	expectDone(t, final, 0)
	writeFiles(t, dir, map[string]string{"file": ""})
	final, _ = c.fsRun(protocol.FsMkdir{Type: protocol.TypeFsMkdir, Path: filepath.Join(dir, "file")}, nil)
	expectFsError(t, final, "EEXIST", "path")
	final, _ = c.fsRun(protocol.FsMkdir{Type: protocol.TypeFsMkdir, Path: filepath.Join(dir, "file", "x", "y")}, nil)
	expectFsError(t, final, "ENOTDIR", "path")
	syscall.Umask(old)
	final, _ = c.fsRun(protocol.FsMkdir{Type: protocol.TypeFsMkdir, Path: filepath.Join(dir, "plain")}, nil)
	expectDone(t, final, 0)
	if m := modeOf(t, filepath.Join(dir, "plain")); m != 0o755 {
		t.Fatalf("default mode %v", m)
	}
}

func TestFsRemove(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"keep": "x"})
	writeFiles(t, dir, map[string]string{"file": "x", "tree/a/b": "x", "tree/c": "x", "full/x": "x"})
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"link", "tree/a/out"} {
		if err := os.Symlink(outside, filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(path string, recursive bool) map[string]any {
		final, _ := c.fsRun(protocol.FsRemove{Type: protocol.TypeFsRemove, Path: path, Recursive: recursive}, nil)
		return final
	}
	for _, name := range []string{"file", "link", "empty"} {
		expectDone(t, remove(filepath.Join(dir, name), false), 0)
	}
	expectFsError(t, remove(filepath.Join(dir, "full"), false), "ENOTEMPTY", "path")
	expectFsError(t, remove(filepath.Join(dir, "missing"), false), "ENOENT", "path")
	expectFsError(t, remove(filepath.Join(dir, "missing"), true), "ENOENT", "path")
	expectDone(t, remove(filepath.Join(dir, "tree"), true), 0)
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "full" {
		t.Fatalf("left: %v", names)
	}
	if mustRead(t, filepath.Join(outside, "keep")) != "x" {
		t.Fatal("a symlink was followed")
	}
	expectFsError(t, remove("/", true), "EINVAL", "path")
}

func TestFsRename(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "A", "d/x": "X"})
	rename := func(from, to string) map[string]any {
		final, _ := c.fsRun(protocol.FsFromTo{Type: protocol.TypeFsRename, From: from, To: to}, nil)
		return final
	}
	expectDone(t, rename(filepath.Join(dir, "a"), filepath.Join(dir, "new", "parents", "b")), 0)
	if mustRead(t, filepath.Join(dir, "new", "parents", "b")) != "A" {
		t.Fatal("not renamed")
	}
	expectFsError(t, rename(filepath.Join(dir, "a"), filepath.Join(dir, "c")), "ENOENT", "from")
	expectFsError(t, rename(filepath.Join(dir, "new"), filepath.Join(dir, "d")), "ENOTEMPTY", "to")
	expectFsError(t, rename(filepath.Join(dir, "d"), filepath.Join(dir, "d", "x", "y")), "ENOTDIR", "to")
}

// Requests are parsed strictly; paths must be absolute.
func TestFsBadRequests(t *testing.T) {
	c, _ := newHarness(t, nil)
	for _, tc := range []struct {
		msg         any
		code, field string
	}{
		{fsRead("relative/path"), "EINVAL", "path"},
		{fsRead(""), "EINVAL", "path"},
		{fsRead("/a\x00b"), "EINVAL", "path"},
		{fsRead("/" + strings.Repeat("a", 5000)), "ENAMETOOLONG", "path"},
		{protocol.FsRead{Type: protocol.TypeFsRead, Path: "/x", Offset: -1}, "EINVAL", "offset"},
		{protocol.FsRead{Type: protocol.TypeFsRead, Path: "/x", Length: int64p(-1)}, "EINVAL", "length"},
		{protocol.FsWrite{Type: protocol.TypeFsWrite, Path: "/x", Mode: int64p(0o10000)}, "EINVAL", "mode"},
		{protocol.FsMkdir{Type: protocol.TypeFsMkdir, Path: "/x", Mode: int64p(-1)}, "EINVAL", "mode"},
		{protocol.FsFromTo{Type: protocol.TypeFsCopy, From: "x", To: "/y"}, "EINVAL", "from"},
		{protocol.FsFromTo{Type: protocol.TypeFsRename, From: "/x", To: "y"}, "EINVAL", "to"},
		{map[string]any{"type": "fs.stat", "path": "/", "follow": true}, "EINVAL", "follow"},
		{map[string]any{"type": "fs.read", "path": 7}, "EINVAL", "path"},
		{map[string]any{"type": "fs.list", "path": "/", "user": "no-such-user-xyz"}, "EUSER", "user"},
	} {
		final, _ := c.fsRun(tc.msg, nil)
		expectFsError(t, final, tc.code, tc.field)
	}
	if n := c.stats(); n != 0 {
		t.Fatalf("%d operations open", n)
	}
}

func TestFsSync(t *testing.T) {
	c, _ := newHarness(t, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("dirty"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, filepath.Join(dir, "file"), "/"} {
		final, _ := c.fsRun(protocol.FsSync{Type: protocol.TypeFsSync, Path: path}, nil)
		if final["type"] != protocol.TypeFsDone || final["bytes"] != float64(0) {
			t.Fatalf("%s: %v", path, final)
		}
	}
	final, _ := c.fsRun(protocol.FsSync{Type: protocol.TypeFsSync, Path: filepath.Join(dir, "missing")}, nil)
	expectFsError(t, final, "ENOENT", "path")
	final, _ = c.fsRun(protocol.FsSync{Type: protocol.TypeFsSync, Path: "relative"}, nil)
	expectFsError(t, final, protocol.CodeInvalid, "path")
	// A field fs.sync does not have is refused, not dropped.
	final, _ = c.fsRun(map[string]any{"type": protocol.TypeFsSync, "path": dir, "user": "root"}, nil)
	if final["type"] != protocol.TypeError || final["field"] != "user" {
		t.Fatalf("unknown field: %v", final)
	}
}
