package server

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
)

// errEscape is a path inside an extraction root that would lead out of it (through a symlink or "..").
var errEscape = errors.New("leads outside the target directory")

// maxLinks bounds the symlinks followed while resolving one path (the kernel's limit).
const maxLinks = 40

// extractRoot is the directory an archive is extracted into. Paths below it are resolved one component at a
// time with openat(O_NOFOLLOW|O_DIRECTORY), so the walk only ever steps into real directories; a symlink on
// the way is read and followed by hand, and only while it stays inside the root. Nothing a concurrent
// process swaps in can lead the walk out: a component that stops being a directory just fails the openat.
type extractRoot struct {
	fd   int
	path string // the root's real path: absolute symlink targets are inside only below it
}

func openExtractRoot(path string) (*extractRoot, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Open(real, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, wrapPath("open", real, err)
	}
	return &extractRoot{fd: fd, path: real}, nil
}

func (r *extractRoot) close() { syscall.Close(r.fd) }

// openDir returns a descriptor of the directory rel (relative, slash-separated) below the root, which the
// caller closes. With create, missing directories are created (0755). Symlinks are followed while they stay
// inside the root; one leading out is errEscape.
func (r *extractRoot) openDir(rel string, create bool) (int, error) {
	var stack []int // descriptors of the directories walked into, below the root
	cur := func() int {
		if len(stack) == 0 {
			return r.fd
		}
		return stack[len(stack)-1]
	}
	defer func() {
		for _, fd := range stack {
			syscall.Close(fd)
		}
	}()
	todo := strings.Split(rel, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..": // only from a symlink's target: entry names never have ".."
			if len(stack) == 0 {
				return -1, errEscape
			}
			syscall.Close(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			continue
		}
		fd, err := openChildDir(cur(), c, create)
		if err == syscall.ENOTDIR || err == syscall.ELOOP {
			target, lerr := readlinkat(cur(), c)
			if lerr != nil { // not a symlink: a file in the way
				return -1, syscall.ENOTDIR
			}
			if links++; links > maxLinks {
				return -1, syscall.ELOOP
			}
			if filepath.IsAbs(target) {
				inside, ok := r.relative(target)
				if !ok {
					return -1, errEscape
				}
				for _, fd := range stack {
					syscall.Close(fd)
				}
				stack = stack[:0]
				target = inside
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		if err != nil {
			return -1, err
		}
		stack = append(stack, fd)
	}
	if len(stack) == 0 {
		return syscall.Dup(r.fd)
	}
	fd := stack[len(stack)-1]
	stack = stack[:len(stack)-1]
	return fd, nil
}

// openChildDir opens directory name in dirfd without following a symlink, creating it (0755) when missing
// and create is set.
func openChildDir(dirfd int, name string, create bool) (int, error) {
	const flags = syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	fd, err := syscall.Openat(dirfd, name, flags, 0)
	if err != syscall.ENOENT || !create {
		return fd, err
	}
	if err := syscall.Mkdirat(dirfd, name, 0o700); err != nil && err != syscall.EEXIST {
		return -1, err
	}
	if fd, err = syscall.Openat(dirfd, name, flags, 0); err != nil {
		return -1, err
	}
	if err := syscall.Fchmod(fd, 0o755); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// relative returns the path of an absolute target relative to the root, if it is inside.
func (r *extractRoot) relative(target string) (string, bool) {
	target = filepath.Clean(target)
	switch {
	case r.path == "/":
		return target[1:], true
	case target == r.path:
		return "", true
	case strings.HasPrefix(target, r.path+"/"):
		return target[len(r.path)+1:], true
	}
	return "", false
}
