package protocol

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Limits of the init message's mounts.
const (
	// MaxMounts bounds the mounts of one init.
	MaxMounts = 128
	// MaxMountTargetBytes bounds a mount target (PATH_MAX).
	MaxMountTargetBytes = 4095
	// MaxShareTagBytes bounds a virtio-fs tag (the device's tag field is 36 bytes).
	MaxShareTagBytes = 36
	// MaxSerialBytes bounds a virtio-blk serial.
	MaxSerialBytes = 20
	// MaxTmpfsSizeMib bounds a tmpfs size (1 TiB).
	MaxTmpfsSizeMib = 1 << 20
)

// reservedMountRoots are the guest paths no mount may cover or go under: the kernel's filesystems and the
// sandbox's own directory.
var reservedMountRoots = []string{"/proc", "/sys", "/dev", "/.msb"}

// ValidateMounts checks the mounts of an init message; the error names the field (`mounts[2].target`).
func ValidateMounts(mounts []GuestMount) *OpError {
	if len(mounts) > MaxMounts {
		return FieldErrorf(CodeInvalid, "mounts", "mounts: at most %d, got %d", MaxMounts, len(mounts))
	}
	seen := make(map[string]int, len(mounts))
	for i := range mounts {
		m := &mounts[i]
		field := fmt.Sprintf("mounts[%d]", i)
		if err := validateMountTarget(m.Target); err != nil {
			return FieldErrorf(CodeInvalid, field+".target", "%s.target: %v", field, err)
		}
		if j, dup := seen[m.Target]; dup {
			return FieldErrorf(CodeInvalid, field+".target", "%s.target: %s is already mounts[%d]", field, m.Target, j)
		}
		seen[m.Target] = i
		if err := validateMountKind(m, field); err != nil {
			return err
		}
	}
	return nil
}

func validateMountKind(m *GuestMount, field string) *OpError {
	bad := func(name, format string, args ...any) *OpError {
		return FieldErrorf(CodeInvalid, field+"."+name, "%s.%s: %s", field, name, fmt.Sprintf(format, args...))
	}
	switch m.Kind {
	case MountVirtiofs:
		if !isTag(m.Tag, MaxShareTagBytes, false) {
			return bad("tag", "must be 1 to %d letters, digits, '_' or '-', got %q", MaxShareTagBytes, m.Tag)
		}
	case MountDisk:
		if !isTag(m.Serial, MaxSerialBytes, true) {
			return bad("serial", "must be 1 to %d letters, digits, '_', '-' or '.', got %q", MaxSerialBytes, m.Serial)
		}
	case MountTmpfs:
		if m.SizeMib != nil && (*m.SizeMib < 1 || *m.SizeMib > MaxTmpfsSizeMib) {
			return bad("sizeMib", "must be 1 to %d, got %d", MaxTmpfsSizeMib, *m.SizeMib)
		}
	default:
		return bad("kind", "must be virtiofs, disk or tmpfs, got %q", m.Kind)
	}
	if m.Kind != MountVirtiofs && m.Tag != "" {
		return bad("tag", "only a virtiofs mount has a tag")
	}
	if m.Kind != MountDisk && m.Serial != "" {
		return bad("serial", "only a disk mount has a serial")
	}
	if m.Kind != MountTmpfs && m.SizeMib != nil {
		return bad("sizeMib", "only a tmpfs mount has a size")
	}
	return nil
}

func validateMountTarget(target string) error {
	switch {
	case target == "":
		return fmt.Errorf("must not be empty")
	case len(target) > MaxMountTargetBytes:
		return fmt.Errorf("longer than %d bytes", MaxMountTargetBytes)
	case strings.ContainsRune(target, 0):
		return fmt.Errorf("contains a NUL byte")
	case !filepath.IsAbs(target):
		return fmt.Errorf("%q is not absolute", target)
	case filepath.Clean(target) != target:
		return fmt.Errorf("%q is not clean (write %q)", target, filepath.Clean(target))
	case target == "/":
		return fmt.Errorf("cannot mount over /")
	}
	for _, r := range reservedMountRoots {
		if target == r || strings.HasPrefix(target, r+"/") {
			return fmt.Errorf("%s is reserved (nothing may be mounted on or under %s)", target, r)
		}
	}
	return nil
}

// isTag reports whether s is 1 to max bytes of letters, digits, '_', '-' (and '.' when dot).
func isTag(s string, max int, dot bool) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || dot && r == '.'
		if !ok {
			return false
		}
	}
	return true
}
