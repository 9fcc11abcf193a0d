//go:build linux

package sysinit

import (
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
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
