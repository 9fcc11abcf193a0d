package server

import (
	"os"
	"syscall"

	"microsandbox/agent/internal/protocol"
)

// sync is fs.sync: syncfs on the filesystem holding path, so that everything written there is on the disk.
func (f *fsStream) sync(path string) (any, *protocol.OpError) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fsError(&os.PathError{Op: "open", Path: path, Err: err}, "path")
	}
	defer syscall.Close(fd)
	if err := syncfs(fd); err != nil {
		return nil, fsError(&os.PathError{Op: "syncfs", Path: path, Err: err}, "path")
	}
	return done(0), nil
}

// stat is fs.stat: lstat information, the link target of a symlink, the birth time when there is one, and
// whether the operation's user may not write the file.
func (f *fsStream) stat(path string) (any, *protocol.OpError) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return nil, fsError(&os.PathError{Op: "lstat", Path: path, Err: err}, "path")
	}
	res := protocol.FsStatResult{Type: protocol.TypeFsStatResult, Kind: kindOfStat(st.Mode), Size: st.Size,
		Mode: st.Mode & 0o7777, Uid: st.Uid, Gid: st.Gid, Modified: msOf(st.Mtim), Created: birthTime(path)}
	if res.Kind == protocol.FileKindSymlink {
		target, err := os.Readlink(path)
		if err != nil {
			return nil, fsError(err, "path")
		}
		res.Target = target
	}
	res.Readonly = f.readonly(path, &st)
	return res, nil
}

// readonly reports whether the operation's user may not write path: faccessat2(W_OK) with the thread's
// filesystem identity (EACCES, or EROFS on a read-only mount). Kernels without faccessat2 (before 5.8) get
// the mode bits' answer and the mount's read-only flag instead (no ACLs).
func (f *fsStream) readonly(path string, st *syscall.Stat_t) bool {
	switch err := faccessat2(path, 2 /* W_OK */); err {
	case nil:
		return false
	case syscall.ENOSYS, syscall.EINVAL: // no faccessat2, or no AT_SYMLINK_NOFOLLOW for it
	default:
		return true // EACCES, EROFS, EPERM (an immutable file)...
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(path, &fs) == nil && fs.Flags&stRdonly != 0 {
		return true
	}
	return !f.cred.mayWrite(st)
}

// mayWrite is the permission bits' answer to "may this identity write the file" (root always may).
func (c fsCred) mayWrite(st *syscall.Stat_t) bool {
	switch {
	case c.uid == 0:
		return true
	case st.Uid == c.uid:
		return st.Mode&0o200 != 0
	case c.inGroup(st.Gid):
		return st.Mode&0o020 != 0
	}
	return st.Mode&0o002 != 0
}

// mkdir is fs.mkdir: mkdir -p with mode for the directory itself.
func (f *fsStream) mkdir(path string, mode uint32) (any, *protocol.OpError) {
	if err := mkdirAll(path, mode); err != nil {
		return nil, fsError(err, "path")
	}
	return done(0), nil
}

// remove is fs.remove: a file, a symlink or an empty directory; with recursive a whole tree, whose symlinks
// are removed, never followed. "/" is never removed.
func (f *fsStream) remove(req *protocol.FsRemove) (any, *protocol.OpError) {
	var st syscall.Stat_t
	if err := syscall.Lstat(req.Path, &st); err != nil {
		return nil, fsError(&os.PathError{Op: "lstat", Path: req.Path, Err: err}, "path")
	}
	if req.Path == "/" {
		return nil, protocol.FieldErrorf(protocol.CodeInvalid, "path", "refusing to remove /")
	}
	var err error
	switch {
	case req.Recursive:
		err = os.RemoveAll(req.Path) // unlinkat below an O_NOFOLLOW directory fd: links are never followed
	case st.Mode&syscall.S_IFMT == syscall.S_IFDIR:
		err = wrapPath("rmdir", req.Path, syscall.Rmdir(req.Path))
	default:
		err = wrapPath("unlink", req.Path, syscall.Unlink(req.Path))
	}
	if err != nil {
		return nil, fsError(err, "path")
	}
	return done(0), nil
}

// rename is fs.rename: rename(2), with the parents of to created. A missing from is ENOENT naming "from";
// other failures name "to".
func (f *fsStream) rename(from, to string) (any, *protocol.OpError) {
	var st syscall.Stat_t
	if err := syscall.Lstat(from, &st); err != nil {
		return nil, fsError(&os.PathError{Op: "lstat", Path: from, Err: err}, "from")
	}
	if err := mkdirParents(to); err != nil {
		return nil, fsError(err, "to")
	}
	if err := syscall.Rename(from, to); err != nil {
		field := "to"
		if err == syscall.ENOENT {
			field = "from"
		}
		return nil, fsError(&os.LinkError{Op: "rename", Old: from, New: to, Err: err}, field)
	}
	return done(0), nil
}
