//go:build linux

// Package sysinit holds what the agent does as PID 1 of the microVM: early mounts, kernel modules, finding
// the virtio-serial port, switching into the root disk, and powering off.
package sysinit

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// mountSpec is one filesystem to mount.
type mountSpec struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	optional               bool // failure is logged, not returned
}

const (
	nosuid = syscall.MS_NOSUID
	nodev  = syscall.MS_NODEV
	noexec = syscall.MS_NOEXEC
)

// ptsOptions are the devpts options: a private instance whose ptmx anyone may open.
const ptsOptions = "newinstance,ptmxmode=0666,mode=0620,gid=5"

// earlyMounts are mounted at boot, in order.
var earlyMounts = []mountSpec{
	{"proc", "/proc", "proc", nosuid | nodev | noexec, "", false},
	{"sysfs", "/sys", "sysfs", nosuid | nodev | noexec, "", false},
	{"devtmpfs", "/dev", "devtmpfs", nosuid, "mode=0755", false},
	{"devpts", "/dev/pts", "devpts", nosuid | noexec, ptsOptions, true},
	{"tmpfs", "/dev/shm", "tmpfs", nosuid | nodev, "mode=1777", true},
	{"tmpfs", "/tmp", "tmpfs", nosuid | nodev, "mode=1777", true},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", nosuid | nodev | noexec, "", true},
}

// rootMounts are mounted fresh inside the new root after the switch (/dev, /proc, /sys are moved there).
var rootMounts = []mountSpec{
	{"devpts", "/dev/pts", "devpts", nosuid | noexec, ptsOptions, true},
	{"tmpfs", "/dev/shm", "tmpfs", nosuid | nodev, "mode=1777", true},
	{"tmpfs", "/tmp", "tmpfs", nosuid | nodev, "mode=1777", true},
}

// doMount creates the mount point and mounts; an already mounted target (EBUSY) is not an error.
func doMount(m mountSpec) error {
	if err := os.MkdirAll(m.target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("mkdir %s: %w", m.target, err)
	}
	err := syscall.Mount(m.source, m.target, m.fstype, m.flags, m.data)
	if err != nil && err != syscall.EBUSY {
		return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
	}
	return nil
}

func mountAll(specs []mountSpec) error {
	for _, m := range specs {
		if err := doMount(m); err != nil {
			if !m.optional {
				return err
			}
			log.Printf("%v (continuing)", err)
		}
	}
	fixDevLinks()
	return nil
}

// MountEarly mounts proc, sysfs, devtmpfs, devpts, /dev/shm, /tmp and cgroup2 (best effort for the last
// four) and makes sure fds 0-2 are the console.
func MountEarly() error {
	if err := mountAll(earlyMounts); err != nil {
		return err
	}
	ensureConsole()
	return nil
}

// fixDevLinks makes /dev/ptmx use the devpts instance, and adds the /dev/fd family that devtmpfs lacks.
func fixDevLinks() {
	if _, err := os.Stat("/dev/pts/ptmx"); err == nil {
		if target, err := os.Readlink("/dev/ptmx"); err != nil || target != "pts/ptmx" {
			_ = os.Remove("/dev/ptmx")
			if err := os.Symlink("pts/ptmx", "/dev/ptmx"); err != nil {
				log.Printf("/dev/ptmx: %v", err)
			}
		}
	}
	links := map[string]string{"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"}
	for link, target := range links {
		if _, err := os.Lstat(link); err != nil {
			_ = os.Symlink(target, link)
		}
	}
}

// ensureConsole reopens /dev/console as fds 0-2 when the kernel could not provide them (an initramfs
// without /dev/console).
func ensureConsole() {
	var st syscall.Stat_t
	if syscall.Fstat(1, &st) == nil && syscall.Fstat(2, &st) == nil {
		return
	}
	fd, err := syscall.Open("/dev/console", syscall.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return
	}
	for i := 0; i < 3; i++ {
		if fd != i {
			_ = syscall.Dup3(fd, i, 0)
		}
	}
	if fd > 2 {
		syscall.Close(fd)
	}
	log.Printf("reopened /dev/console as stdio")
}

// unmountAll lazily unmounts every mount below / (deepest first) and remounts / read-only; best effort.
func unmountAll() {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	targets := parseMountTargets(string(data))
	for i := len(targets) - 1; i >= 0; i-- {
		if t := targets[i]; t != "/" {
			_ = syscall.Unmount(t, syscall.MNT_DETACH)
		}
	}
	_ = syscall.Mount("", "/", "", syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
}

// parseMountTargets returns the mount points of a /proc/mounts text, in mount order, with octal escapes
// (\040 for a space...) decoded.
func parseMountTargets(mounts string) []string {
	var out []string
	for _, line := range strings.Split(mounts, "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			out = append(out, filepath.Clean(unescapeOctal(f[1])))
		}
	}
	return out
}

func unescapeOctal(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b = append(b, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// mkdirAllTarget creates a mount point and its parents (mode 0755).
func mkdirAllTarget(target string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("creating the mount point: %w", err)
	}
	return nil
}
