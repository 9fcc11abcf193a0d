package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// atomicFile is a temporary file beside its target that replaces the target on commit (synced, given its
// mode and owner, renamed over the target, the directory synced) and disappears on abort.
type atomicFile struct {
	*os.File
	target, tmp string
}

// createAtomic creates the temporary file (mode 0600 until commit) in target's directory.
func createAtomic(target string) (*atomicFile, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(target), ".msb-"+hex.EncodeToString(rnd[:])+".tmp")
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	return &atomicFile{File: file, target: target, tmp: tmp}, nil
}

// commit makes the data durable under the target's name. owner (uid, gid) is applied when not nil, before
// mode (chown clears the set-id bits).
func (a *atomicFile) commit(mode uint32, owner *[2]int) error {
	fd := int(a.Fd())
	err := a.Sync()
	if err == nil && owner != nil {
		err = wrapPath("chown", a.tmp, syscall.Fchown(fd, owner[0], owner[1]))
	}
	if err == nil {
		err = wrapPath("chmod", a.tmp, syscall.Fchmod(fd, mode))
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.tmp, a.target)
	}
	if err != nil {
		_ = os.Remove(a.tmp)
		return err
	}
	return syncDir(filepath.Dir(a.target))
}

// abort removes the temporary file.
func (a *atomicFile) abort() {
	a.Close()
	_ = os.Remove(a.tmp)
}

// syncDir makes a directory's entries (a rename into it) durable.
func syncDir(dir string) error {
	d, err := openDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// wrapPath wraps a bare errno with the call and path it concerns (nil stays nil).
func wrapPath(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: path, Err: err}
}

// followLinks resolves the symlinks of path's final component (the kernel resolves the parents), so that
// replacing the file replaces the link's target, as writing through the link would. A missing file (or a
// dangling link's missing target) is fine; ELOOP after 40 links.
func followLinks(path string) (string, error) {
	for i := 0; i < 40; i++ {
		target, err := os.Readlink(path)
		if err != nil {
			if isErrno(err, syscall.EINVAL) || isErrno(err, syscall.ENOENT) {
				return path, nil
			}
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = filepath.Clean(target)
	}
	return "", &os.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
}

// mkdirParents creates the missing parents of path (0755); a non-directory in the way is ENOTDIR.
func mkdirParents(path string) error {
	return notDir(mkdirAll(filepath.Dir(path), 0o755))
}

// notDir turns mkdirAll's EEXIST (a non-directory where a directory must be) into ENOTDIR.
func notDir(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Err == syscall.EEXIST {
		return &os.PathError{Op: pe.Op, Path: pe.Path, Err: syscall.ENOTDIR}
	}
	return err
}

// mkdirAll creates dir and its missing parents, as mkdir -p: parents get 0755 and dir mode, applied exactly
// (whatever the umask). An existing directory (or link to one) is fine; an existing non-directory is EEXIST
// at dir, ENOTDIR at a parent.
func mkdirAll(dir string, mode uint32) error {
	st, err := os.Stat(dir)
	if err == nil {
		if st.IsDir() {
			return nil
		}
		return &os.PathError{Op: "mkdir", Path: dir, Err: syscall.EEXIST}
	}
	if !isErrno(err, syscall.ENOENT) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := notDir(mkdirAll(parent, 0o755)); err != nil {
			return err
		}
	}
	if err := syscall.Mkdir(dir, 0o700); err != nil {
		if err == syscall.EEXIST { // created meanwhile, or a dangling symlink
			if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
				return nil
			}
		}
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return wrapPath("chmod", dir, syscall.Chmod(dir, mode))
}
