//go:build linux

package sysinit

import (
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"microsandbox/agent/internal/protocol"
)

func TestParseMountTargets(t *testing.T) {
	mounts := "proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\ntmpfs /mnt/with\\040space tmpfs rw 0 0\n\n"
	want := []string{"/proc", "/", "/mnt/with space"}
	if got := parseMountTargets(mounts); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRemoveTreeStaysInside(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/b/c", "d", "newrootlike"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/b/c/file", "top", "d/x"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		t.Fatal(err)
	}
	removeTree(dir, uint64(st.Dev)+1) // another device: nothing may be removed
	if entries, _ := os.ReadDir(dir); len(entries) != 5 {
		t.Fatalf("removed entries of another device: %d left", len(entries))
	}
	removeTree(dir, uint64(st.Dev))
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("%d entries left", len(entries))
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatal("symlink target removed")
	}
}

func TestLoadModulesWithoutOrderFile(t *testing.T) {
	LoadModules(t.TempDir()) // no order file: nothing to do, no panic
}

func TestRewriteNetFilesKeepsTheInodes(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"resolv.conf", "hosts"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("a much longer template content\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.Stat(filepath.Join(dir, "hosts"))
	stage, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Close()
	if err := rewriteNetFiles(stage, &protocol.NetFiles{ResolvConf: "nameserver 10.0.2.3\n", Hosts: "127.0.1.1\tweb\n"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"resolv.conf": "nameserver 10.0.2.3\n", "hosts": "127.0.1.1\tweb\n"} {
		got, _ := os.ReadFile(filepath.Join(dir, name))
		if string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// Bind mounts show the staged inodes: the files must be rewritten in place, never replaced.
	after, _ := os.Stat(filepath.Join(dir, "hosts"))
	if !os.SameFile(before, after) {
		t.Error("hosts was replaced by another file")
	}
}
