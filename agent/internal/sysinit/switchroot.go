//go:build linux

package sysinit

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"microsandbox/agent/internal/protocol"
)

const (
	newRoot       = "/newroot"
	diskWait      = 10 * time.Second
	ramfsMagic    = 0x858458f6
	tmpfsMagic    = 0x01021994
	defaultFstype = "ext4"
)

// findDisk waits for the block device whose /sys/block/*/serial is serial and returns its /dev path.
func findDisk(serial string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		matches, _ := filepath.Glob("/sys/block/*/serial")
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil || strings.TrimSpace(string(b)) != serial {
				continue
			}
			dev := "/dev/" + filepath.Base(filepath.Dir(m))
			if _, err := os.Stat(dev); err == nil {
				return dev, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no disk with serial %q within %v", serial, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SwitchRoot mounts the root disk, moves /dev, /proc and /sys into it, empties the initramfs and makes the
// disk the root (like switch_root, but the agent stays PID 1), then mounts a fresh devpts, /dev/shm and
// /tmp inside it.
func SwitchRoot(spec *protocol.RootSpec) *protocol.OpError {
	dev, err := findDisk(spec.Serial, diskWait)
	if err != nil {
		return protocol.FieldErrorf(protocol.CodeNoDevice, "root.serial", "%v", err)
	}
	fstype := spec.Fstype
	if fstype == "" {
		fstype = defaultFstype
	}
	var flags uintptr
	if spec.Readonly {
		flags |= syscall.MS_RDONLY
	}
	if err := doMount(mountSpec{source: dev, target: newRoot, fstype: fstype, flags: flags}); err != nil {
		return protocol.Errorf(protocol.CodeIO, "root disk %s: %v", dev, err)
	}
	// The initramfs' own devpts, /dev/shm and /tmp are replaced by fresh ones in the new root.
	for _, m := range []string{"/dev/pts", "/dev/shm", "/tmp"} {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	var moved []string
	for _, m := range []string{"/dev", "/proc", "/sys"} {
		target := newRoot + m
		err := os.MkdirAll(target, 0o755)
		if err == nil {
			err = syscall.Mount(m, target, "", syscall.MS_MOVE, "")
		}
		if err != nil {
			for i := len(moved) - 1; i >= 0; i-- {
				_ = syscall.Mount(newRoot+moved[i], moved[i], "", syscall.MS_MOVE, "")
			}
			_ = syscall.Unmount(newRoot, syscall.MNT_DETACH)
			_ = mountAll(earlyMounts[3:6])
			return protocol.Errorf(protocol.CodeIO, "moving %s into the root disk: %v", m, err)
		}
		moved = append(moved, m)
	}
	emptyInitramfs()
	if err := enterNewRoot(); err != nil {
		// Nothing sensible is left to run on: the caller powers off on the next error anyway.
		return protocol.Errorf(protocol.CodeIO, "switching root: %v", err)
	}
	if err := mountAll(rootMounts); err != nil {
		log.Printf("mounts in the new root: %v", err)
	}
	mode := "rw"
	if spec.Readonly {
		mode = "ro"
	}
	log.Printf("switched root to %s (%s, %s)", dev, fstype, mode)
	return nil
}

func enterNewRoot() error {
	if err := syscall.Chdir(newRoot); err != nil {
		return err
	}
	if err := syscall.Mount(".", "/", "", syscall.MS_MOVE, ""); err != nil {
		return err
	}
	if err := syscall.Chroot("."); err != nil {
		return err
	}
	return syscall.Chdir("/")
}

// emptyInitramfs deletes the initramfs files (they would pin memory forever), staying on the root
// filesystem; only done when / really is a ramfs/tmpfs.
func emptyInitramfs() {
	var sfs syscall.Statfs_t
	var st syscall.Stat_t
	if syscall.Statfs("/", &sfs) != nil || (sfs.Type != ramfsMagic && sfs.Type != tmpfsMagic) {
		return
	}
	if syscall.Lstat("/", &st) != nil {
		return
	}
	removeTree("/", st.Dev)
}

// removeTree removes the contents of dir that live on device dev (never crossing into other mounts).
func removeTree(dir string, dev uint64) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if p == newRoot {
			continue
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) != nil || st.Dev != dev {
			continue
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			removeTree(p, dev)
			_ = syscall.Rmdir(p)
		} else {
			_ = syscall.Unlink(p)
		}
	}
}
