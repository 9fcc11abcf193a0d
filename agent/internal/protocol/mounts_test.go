package protocol

import (
	"strings"
	"testing"
)

func size(n int64) *int64 { return &n }

func TestValidateMountsAcceptsEachKind(t *testing.T) {
	ok := []GuestMount{
		{Kind: MountVirtiofs, Target: "/mnt/src", Tag: "vol0", Readonly: true},
		{Kind: MountDisk, Target: "/data", Serial: "vol1.x"},
		{Kind: MountTmpfs, Target: "/scratch", SizeMib: size(64)},
		{Kind: MountTmpfs, Target: "/tmp"},
		{Kind: MountTmpfs, Target: "/data/sub", SizeMib: size(MaxTmpfsSizeMib)},
	}
	if err := ValidateMounts(ok); err != nil {
		t.Fatalf("valid mounts refused: %v", err)
	}
	if err := ValidateMounts(nil); err != nil {
		t.Fatalf("no mounts refused: %v", err)
	}
}

func TestValidateMountsNamesTheBadField(t *testing.T) {
	cases := []struct {
		name  string
		m     GuestMount
		field string
	}{
		{"relative target", GuestMount{Kind: MountTmpfs, Target: "data"}, "mounts[0].target"},
		{"empty target", GuestMount{Kind: MountTmpfs}, "mounts[0].target"},
		{"unclean target", GuestMount{Kind: MountTmpfs, Target: "/data/../etc"}, "mounts[0].target"},
		{"trailing slash", GuestMount{Kind: MountTmpfs, Target: "/data/"}, "mounts[0].target"},
		{"root", GuestMount{Kind: MountTmpfs, Target: "/"}, "mounts[0].target"},
		{"proc", GuestMount{Kind: MountTmpfs, Target: "/proc"}, "mounts[0].target"},
		{"under sys", GuestMount{Kind: MountTmpfs, Target: "/sys/fs/x"}, "mounts[0].target"},
		{"under dev", GuestMount{Kind: MountTmpfs, Target: "/dev/shm"}, "mounts[0].target"},
		{"msb dir", GuestMount{Kind: MountTmpfs, Target: "/.msb/scripts"}, "mounts[0].target"},
		{"NUL", GuestMount{Kind: MountTmpfs, Target: "/a\x00b"}, "mounts[0].target"},
		{"long target", GuestMount{Kind: MountTmpfs, Target: "/" + strings.Repeat("a", MaxMountTargetBytes)}, "mounts[0].target"},
		{"unknown kind", GuestMount{Kind: "nfs", Target: "/n"}, "mounts[0].kind"},
		{"no tag", GuestMount{Kind: MountVirtiofs, Target: "/s"}, "mounts[0].tag"},
		{"bad tag", GuestMount{Kind: MountVirtiofs, Target: "/s", Tag: "a,b"}, "mounts[0].tag"},
		{"long tag", GuestMount{Kind: MountVirtiofs, Target: "/s", Tag: strings.Repeat("t", 37)}, "mounts[0].tag"},
		{"no serial", GuestMount{Kind: MountDisk, Target: "/d"}, "mounts[0].serial"},
		{"long serial", GuestMount{Kind: MountDisk, Target: "/d", Serial: strings.Repeat("s", 21)}, "mounts[0].serial"},
		{"zero size", GuestMount{Kind: MountTmpfs, Target: "/t", SizeMib: size(0)}, "mounts[0].sizeMib"},
		{"huge size", GuestMount{Kind: MountTmpfs, Target: "/t", SizeMib: size(MaxTmpfsSizeMib + 1)}, "mounts[0].sizeMib"},
		{"size on a disk", GuestMount{Kind: MountDisk, Target: "/d", Serial: "s", SizeMib: size(1)}, "mounts[0].sizeMib"},
		{"tag on tmpfs", GuestMount{Kind: MountTmpfs, Target: "/t", Tag: "x"}, "mounts[0].tag"},
		{"serial on a share", GuestMount{Kind: MountVirtiofs, Target: "/s", Tag: "x", Serial: "y"}, "mounts[0].serial"},
	}
	for _, c := range cases {
		err := ValidateMounts([]GuestMount{c.m})
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if err.Field != c.field || err.Code != CodeInvalid || !strings.Contains(err.Message, c.field) {
			t.Errorf("%s: got %s %q %q, want field %s", c.name, err.Code, err.Field, err.Message, c.field)
		}
	}
}

func TestValidateMountsRefusesDuplicatesAndTooMany(t *testing.T) {
	dup := []GuestMount{{Kind: MountTmpfs, Target: "/a"}, {Kind: MountTmpfs, Target: "/a"}}
	if err := ValidateMounts(dup); err == nil || err.Field != "mounts[1].target" {
		t.Fatalf("duplicate target: %v", err)
	}
	many := make([]GuestMount, MaxMounts+1)
	if err := ValidateMounts(many); err == nil || err.Field != "mounts" {
		t.Fatalf("too many mounts: %v", err)
	}
}
