//go:build linux

package sysinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"microsandbox/agent/internal/protocol"
)

// installNetFiles provides /etc/resolv.conf and /etc/hosts without writing the image's files: both are written
// to a private tmpfs and bind-mounted (read-only) over the targets; the tmpfs is then detached, so it has no
// path of its own and lives on through the two bind mounts, and through the returned directory (opened before
// the detach), which only the agent holds: rewriteNetFiles changes the files through it.
func installNetFiles(files *protocol.NetFiles) (*os.File, error) {
	stage, err := os.MkdirTemp("/dev", ".msb-net-")
	if err != nil {
		return nil, fmt.Errorf("staging directory: %w", err)
	}
	defer os.Remove(stage)
	if err := syscall.Mount("tmpfs", stage, "tmpfs", nosuid|nodev|noexec, "size=256k,mode=0755"); err != nil {
		return nil, fmt.Errorf("staging tmpfs: %w", err)
	}
	defer syscall.Unmount(stage, syscall.MNT_DETACH)
	dir, err := os.Open(stage)
	if err != nil {
		return nil, fmt.Errorf("staging directory: %w", err)
	}
	for _, f := range netFileList(files) {
		src := filepath.Join(stage, f.name)
		if err := os.WriteFile(src, []byte(f.text), 0o644); err != nil {
			dir.Close()
			return nil, fmt.Errorf("write %s: %w", f.name, err)
		}
		if err := bindFile(src, filepath.Join("/etc", f.name)); err != nil {
			dir.Close()
			return nil, err
		}
	}
	return dir, nil
}

// rewriteNetFiles replaces the contents of the files installNetFiles made, through its staging directory: the
// bind mounts show the same inodes, so the new contents appear at once and nothing is mounted.
func rewriteNetFiles(stage *os.File, files *protocol.NetFiles) error {
	for _, f := range netFileList(files) {
		fd, err := syscall.Openat(int(stage.Fd()), f.name, syscall.O_WRONLY|syscall.O_TRUNC|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", f.name, err)
		}
		file := os.NewFile(uintptr(fd), f.name)
		_, err = file.WriteString(f.text)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return nil
}

func netFileList(files *protocol.NetFiles) []struct{ name, text string } {
	return []struct{ name, text string }{{"resolv.conf", files.ResolvConf}, {"hosts", files.Hosts}}
}

// bindFile bind-mounts src read-only over target. A missing target (or a dangling symlink, as left by images
// built for systemd-resolved) gets an empty mount point file in the sandbox's own writable layer.
func bindFile(src, target string) error {
	if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
		if fi, lerr := os.Lstat(target); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			if err := os.Remove(target); err != nil {
				return fmt.Errorf("replace dangling %s: %w", target, err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("mkdir for %s: %w", target, err)
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("mount point %s: %w", target, err)
		}
		f.Close()
	} else if err != nil {
		return fmt.Errorf("stat %s: %w", target, err)
	}
	if err := syscall.Mount(src, target, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", target, err)
	}
	flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY | nosuid | nodev | noexec)
	if err := syscall.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("read-only %s: %w", target, err)
	}
	return nil
}
