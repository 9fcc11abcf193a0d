package users

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func writeEtc(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	passwd := "root:x:0:0:root:/root:/bin/bash\n" +
		"# comment\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"alice:x:1000:1000:Alice:/home/alice:/bin/sh\n" +
		"broken line\n"
	group := "root:x:0:\nadm:x:4:alice,bob\nstaff:x:50:alice\nalice:x:1000:\nusers:x:100:\n"
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "group"), []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestResolve(t *testing.T) {
	etc := writeEtc(t)
	cases := []struct {
		spec string
		want Identity
	}{
		{"", Identity{Name: "root", Uid: 0, Gid: 0, Groups: []uint32{0}, Home: "/root"}},
		{"alice", Identity{Name: "alice", Uid: 1000, Gid: 1000, Groups: []uint32{1000, 4, 50}, Home: "/home/alice"}},
		{"1000", Identity{Name: "alice", Uid: 1000, Gid: 1000, Groups: []uint32{1000, 4, 50}, Home: "/home/alice"}},
		{"alice:users", Identity{Name: "alice", Uid: 1000, Gid: 100, Groups: []uint32{100, 4, 50}, Home: "/home/alice"}},
		{"1000:4", Identity{Name: "alice", Uid: 1000, Gid: 4, Groups: []uint32{4, 50}, Home: "/home/alice"}},
		{"4242", Identity{Uid: 4242, Gid: 0, Groups: []uint32{0}, Home: "/"}},
		{"4242:4243", Identity{Uid: 4242, Gid: 4243, Groups: []uint32{4243}, Home: "/"}},
	}
	for _, c := range cases {
		got, err := Resolve(c.spec, etc)
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%q: got %+v, want %+v", c.spec, *got, c.want)
		}
	}
}

func TestResolveUnknown(t *testing.T) {
	etc := writeEtc(t)
	for _, spec := range []string{"mallory", "alice:nogroup", ":0", "alice:"} {
		_, err := Resolve(spec, etc)
		var ue *UnknownError
		if !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want UnknownError", spec, err)
		}
	}
}

func TestRootWithoutFiles(t *testing.T) {
	got, err := Resolve("root", t.TempDir())
	if err != nil || got.Uid != 0 || got.Home != "/root" {
		t.Fatalf("root without passwd: %+v %v", got, err)
	}
}

// A Resolver parses each file once, and again whenever it is replaced, rewritten or removed.
func TestResolverSeesChanges(t *testing.T) {
	etc := writeEtc(t)
	r := NewResolver(etc)
	uid := func(spec string) uint32 {
		t.Helper()
		id, err := r.Resolve(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		return id.Uid
	}
	if got := uid("alice"); got != 1000 {
		t.Fatalf("alice = %d", got)
	}
	// Rewritten in place (same inode): its size and change time differ.
	path := filepath.Join(etc, "passwd")
	if err := os.WriteFile(path, []byte("alice:x:1001:1000:Alice:/home/alice:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := uid("alice"); got != 1001 {
		t.Fatalf("alice after the rewrite = %d", got)
	}
	// Replaced by rename (another inode).
	tmp := filepath.Join(etc, "passwd.new")
	if err := os.WriteFile(tmp, []byte("alice:x:1002:1000:Alice:/home/alice:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if got := uid("alice"); got != 1002 {
		t.Fatalf("alice after the rename = %d", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve("alice"); err == nil {
		t.Fatal("alice resolved after passwd was removed")
	}
	if got := uid("root"); got != 0 {
		t.Fatalf("root = %d", got)
	}
}
