package server

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// buildTree makes a tree with every kind the archive keeps: nested directories with their own modes, files
// with odd modes and all byte values, relative and absolute symlinks, a dangling one, a hard link, an empty
// directory, and nanosecond mtimes everywhere (directories last, as their entries change them).
func buildTree(t *testing.T, root string) {
	t.Helper()
	writeFiles(t, root, map[string]string{"a.txt": "alpha", "sub/deep/b.bin": string(allBytes(70000)),
		"sub/c": "", "exec.sh": "#!/bin/sh\n"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(root, "empty"), 0o755))
	must(syscall.Chmod(filepath.Join(root, "exec.sh"), 0o4755))
	must(syscall.Chmod(filepath.Join(root, "sub", "c"), 0o600))
	must(os.Symlink("deep/b.bin", filepath.Join(root, "sub", "rel")))
	must(os.Symlink("/etc/hostname", filepath.Join(root, "abs")))
	must(os.Symlink("nowhere", filepath.Join(root, "dangling")))
	must(os.Link(filepath.Join(root, "a.txt"), filepath.Join(root, "sub", "hard")))
	must(os.Chown(filepath.Join(root, "sub", "c"), 1234, 5678))
	var dirs []string
	i := 0
	must(filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		i++
		ts := [2]syscall.Timespec{{Nsec: utimeOmit}, {Sec: 1500000000 + int64(i), Nsec: int64(i) * 1111}}
		return utimensat(atFdcwd, p, &ts)
	}))
	must(syscall.Chmod(filepath.Join(root, "sub", "deep"), 0o750))
	for j := len(dirs) - 1; j >= 0; j-- {
		ts := [2]syscall.Timespec{{Nsec: utimeOmit}, {Sec: 1400000000 + int64(j), Nsec: 987654321}}
		must(utimensat(atFdcwd, dirs[j], &ts))
	}
}

// describeTree describes every entry below root (relative name -> kind, mode, owner, mtime, contents or
// target), and which names share an inode.
func describeTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	inodes := map[uint64][]string{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		st := info.Sys().(*syscall.Stat_t)
		d := fmt.Sprintf("%s %o %d:%d mtime %d.%09d", kindOfMode(info.Mode()), st.Mode&0o7777, st.Uid, st.Gid,
			st.Mtim.Sec, st.Mtim.Nsec)
		switch {
		case info.Mode().IsRegular():
			sum := sha256.Sum256([]byte(mustRead(t, p)))
			d += fmt.Sprintf(" %x", sum[:8])
			inodes[st.Ino] = append(inodes[st.Ino], rel)
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			d += " -> " + target
		}
		if rel != "." {
			out[rel] = d
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, names := range inodes {
		if len(names) > 1 {
			sort.Strings(names)
			out["links "+strings.Join(names, " ")] = "same inode"
		}
	}
	return out
}

func TestFsArchiveRoundTrip(t *testing.T) {
	c, _ := newHarness(t, nil)
	src := filepath.Join(t.TempDir(), "tree")
	buildTree(t, src)
	final, archive := c.fsRun(fsPath(protocol.TypeFsArchiveRead, src), nil)
	expectDone(t, final, int64(len(archive)))
	// Names are relative to the parent of path.
	tr := tar.NewReader(bytes.NewReader(archive))
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if !strings.HasPrefix(hdr.Name, "tree/") {
			t.Fatalf("entry %q", hdr.Name)
		}
	}
	if len(names) != 12 {
		t.Fatalf("entries %v", names)
	}

	dst := filepath.Join(t.TempDir(), "x", "y") // created
	final, _ = c.fsRun(fsPath(protocol.TypeFsArchiveWrite, dst), archive)
	expectDone(t, final, int64(len(archive)))
	want, got := describeTree(t, src), describeTree(t, filepath.Join(dst, "tree"))
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s:\n got  %s\n want %s", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d: %v", len(got), len(want), got)
	}
	// Extracting again over the same tree replaces it in place.
	final, _ = c.fsRun(fsPath(protocol.TypeFsArchiveWrite, dst), archive)
	expectDone(t, final, int64(len(archive)))

	// A single file is archived on its own.
	final, archive = c.fsRun(fsPath(protocol.TypeFsArchiveRead, filepath.Join(src, "a.txt")), nil)
	expectDone(t, final, int64(len(archive)))
	tr = tar.NewReader(bytes.NewReader(archive))
	if hdr, err := tr.Next(); err != nil || hdr.Name != "a.txt" || hdr.Size != 5 {
		t.Fatalf("single file: %+v %v", hdr, err)
	}
	final, _ = c.fsRun(fsPath(protocol.TypeFsArchiveRead, filepath.Join(src, "missing")), nil)
	expectFsError(t, final, "ENOENT", "path")
	final, _ = c.fsRun(fsPath(protocol.TypeFsArchiveWrite, filepath.Join(src, "a.txt")), archive)
	expectFsError(t, final, "ENOTDIR", "path")
}

// tarOf builds an archive; a header with Typeflag TypeReg gets body as its data.
func tarOf(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		body := []byte(nil)
		if h.Typeflag == tar.TypeReg {
			body = []byte("pwned")
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func reg(name string) *tar.Header { return &tar.Header{Typeflag: tar.TypeReg, Name: name} }

func symlink(name, target string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target}
}

// Archives that try to write outside the target directory are refused, and nothing lands outside.
func TestFsArchiveHostile(t *testing.T) {
	c, _ := newHarness(t, nil)
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	writeFiles(t, outside, map[string]string{"secret": "s"})
	for _, tc := range []struct {
		name  string
		hdrs  []*tar.Header
		entry string
	}{
		{"dot-dot", []*tar.Header{reg("../outside/x")}, "../outside/x"},
		{"dot-dot inside", []*tar.Header{reg("a/../../outside/x")}, "a/../../outside/x"},
		{"absolute", []*tar.Header{reg(outside + "/x")}, outside + "/x"},
		{"absolute symlink then through it", []*tar.Header{symlink("l", outside), reg("l/x")}, "l/x"},
		{"relative symlink then through it", []*tar.Header{symlink("l", "../outside"), reg("l/x")}, "l/x"},
		{"symlink chain", []*tar.Header{symlink("l1", "l2"), symlink("l2", "sub/../.."), reg("l1/outside/x")}, "l1/outside/x"},
		{"directory through a symlink", []*tar.Header{symlink("l", outside), {Typeflag: tar.TypeDir, Name: "l/newdir/"}}, "l/newdir/"},
		{"hard link out", []*tar.Header{{Typeflag: tar.TypeLink, Name: "h", Linkname: "../outside/secret"}}, "h"},
		{"hard link through a symlink", []*tar.Header{symlink("l", outside), {Typeflag: tar.TypeLink, Name: "h", Linkname: "l/secret"}}, "h"},
		{"fifo", []*tar.Header{{Typeflag: tar.TypeFifo, Name: "p"}}, "p"},
		{"device", []*tar.Header{{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3}}, "null"},
	} {
		dst := filepath.Join(base, "dst")
		final, _ := c.fsRun(fsPath(protocol.TypeFsArchiveWrite, dst), tarOf(t, tc.hdrs...))
		expectFsError(t, final, "EINVAL", "path")
		if msg := final["message"].(string); !strings.Contains(msg, fmt.Sprintf("%q", tc.entry)) {
			t.Errorf("%s: message %q does not name the entry", tc.name, msg)
		}
		if names := dirNames(t, outside); len(names) != 1 || mustRead(t, filepath.Join(outside, "secret")) != "s" {
			t.Fatalf("%s: outside now holds %v", tc.name, names)
		}
		if names := dirNames(t, base); len(names) != 2 {
			t.Fatalf("%s: base now holds %v", tc.name, names)
		}
		if err := os.RemoveAll(dst); err != nil {
			t.Fatal(err)
		}
	}
	// Symlinks that stay inside are followed; garbage is EINVAL.
	dst := filepath.Join(base, "dst")
	final, _ := c.fsRun(fsPath(protocol.TypeFsArchiveWrite, dst), tarOf(t,
		&tar.Header{Typeflag: tar.TypeDir, Name: "d/"}, symlink("l", "d"), reg("l/f"),
		symlink("abs", dst+"/d"), reg("abs/g"), symlink("up", "d/.."), reg("up/d/h")))
	expectDone(t, final, -1)
	for _, f := range []string{"d/f", "d/g", "d/h"} {
		if mustRead(t, filepath.Join(dst, f)) != "pwned" {
			t.Fatalf("%s missing", f)
		}
	}
	final, _ = c.fsRun(fsPath(protocol.TypeFsArchiveWrite, dst), bytes.Repeat([]byte("garbage!"), 200))
	expectFsError(t, final, "EINVAL", "path")
}

// An extraction cut off mid-file removes the incomplete file and answers ECANCELED.
func TestFsArchiveWriteCancel(t *testing.T) {
	c, _ := newHarness(t, nil)
	dst := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "big", Size: 1 << 30, Mode: 0o644,
		ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := c.open(fsPath(protocol.TypeFsArchiveWrite, dst))
	c.writeStdin(s, buf.Bytes())
	c.writeStdin(s, make([]byte, 1<<20))
	waitFor(t, func() bool { return len(dirNames(t, dst)) == 1 })
	c.followUp(s, protocol.Simple{Type: protocol.TypeStreamCancel})
	expectFsError(t, c.wait(s, 10*time.Second), protocol.CodeCanceled, "")
	if names := dirNames(t, dst); len(names) != 0 {
		t.Fatalf("left behind: %v", names)
	}
}
