package server

import (
	"errors"
	"io"
	"os"
	"syscall"

	"microsandbox/agent/internal/protocol"
)

// copyChunk bounds one step of fs.copy (between checks for the session's end).
const copyChunk = 8 << 20

// writerOnly hides an *os.File's ReadFrom, so io.CopyBuffer uses the given buffer.
type writerOnly struct{ io.Writer }

// write is fs.write: the STDIN bytes replace the file atomically, or are appended to it.
func (f *fsStream) write(req *protocol.FsWrite) (any, *protocol.OpError) {
	if req.Append {
		return f.appendTo(req)
	}
	target, err := followLinks(req.Path)
	if err != nil {
		return nil, fsError(err, "path")
	}
	mode, owner, opErr := f.replaceAttrs(target, "path")
	if opErr != nil {
		return nil, opErr
	}
	if req.Mode != nil {
		mode = uint32(*req.Mode)
	}
	a, err := createAtomic(target)
	if err != nil {
		return nil, fsError(err, "path")
	}
	n, err := io.CopyBuffer(writerOnly{a.File}, &stdinReader{d: f.dataStream}, make([]byte, protocol.MaxDataChunk))
	if err == nil {
		err = a.commit(mode, owner)
	} else {
		a.abort()
	}
	if err != nil {
		return nil, f.dataError(err, "path")
	}
	return done(n), nil
}

// replaceAttrs prepares replacing target: its parents are created (0755), and the mode and owner of the
// file it replaces are returned (0644 and nil for a new file; the owner is kept only when the operation
// runs as root, the only identity that may give a file away). A directory is EISDIR.
func (f *fsStream) replaceAttrs(target, field string) (mode uint32, owner *[2]int, opErr *protocol.OpError) {
	if err := mkdirParents(target); err != nil {
		return 0, nil, fsError(err, field)
	}
	var st syscall.Stat_t
	switch err := syscall.Lstat(target, &st); {
	case err == syscall.ENOENT:
		return 0o644, nil, nil
	case err != nil:
		return 0, nil, fsError(&os.PathError{Op: "lstat", Path: target, Err: err}, field)
	case st.Mode&syscall.S_IFMT == syscall.S_IFDIR:
		return 0, nil, fsError(&os.PathError{Op: "open", Path: target, Err: syscall.EISDIR}, field)
	}
	if f.cred.uid == 0 {
		owner = &[2]int{int(st.Uid), int(st.Gid)}
	}
	return st.Mode & 0o7777, owner, nil
}

// appendTo appends the STDIN bytes to the file (created with mode, default 0644, if missing) and syncs it.
func (f *fsStream) appendTo(req *protocol.FsWrite) (any, *protocol.OpError) {
	if err := mkdirParents(req.Path); err != nil {
		return nil, fsError(err, "path")
	}
	mode := uint32(0o644)
	if req.Mode != nil {
		mode = uint32(*req.Mode)
	}
	file, err := openAppend(req.Path, mode)
	if err != nil {
		return nil, fsError(err, "path")
	}
	defer file.Close()
	n, err := io.CopyBuffer(writerOnly{file}, &stdinReader{d: f.dataStream}, make([]byte, protocol.MaxDataChunk))
	if err == nil {
		err = file.Sync()
	}
	if err != nil {
		return nil, f.dataError(err, "path")
	}
	return done(n), nil
}

// openAppend opens a regular file for appending, creating it with exactly mode when missing.
func openAppend(path string, mode uint32) (*os.File, error) {
	flags := syscall.O_WRONLY | syscall.O_APPEND
	file, _, err := openNoBlock(path, flags|syscall.O_CREAT|syscall.O_EXCL, 0o600, regularOnly)
	if err == nil {
		if err := syscall.Fchmod(int(file.Fd()), mode); err != nil {
			file.Close()
			return nil, &os.PathError{Op: "chmod", Path: path, Err: err}
		}
		return file, nil
	}
	if !isErrno(err, syscall.EEXIST) {
		return nil, err
	}
	file, _, err = openNoBlock(path, flags, 0, regularOnly)
	return file, err
}

// copy is fs.copy: a regular file's contents and mode to another path, replaced atomically as fs.write does.
func (f *fsStream) copy(from, to string) (any, *protocol.OpError) {
	src, st, err := openNoBlock(from, syscall.O_RDONLY, 0, regularOnly)
	if err != nil {
		return nil, fsError(err, "from")
	}
	defer src.Close()
	target, err := followLinks(to)
	if err != nil {
		return nil, fsError(err, "to")
	}
	_, owner, opErr := f.replaceAttrs(target, "to")
	if opErr != nil {
		return nil, opErr
	}
	a, err := createAtomic(target)
	if err != nil {
		return nil, fsError(err, "to")
	}
	var total int64
	for {
		// ReadFrom uses copy_file_range when it can; in chunks, so the session's end stops a large copy.
		n, err := a.File.ReadFrom(&io.LimitedReader{R: src, N: copyChunk})
		total += n
		if err == nil && f.killed.Load() {
			err = errStreamClosed
		}
		if err != nil {
			a.abort()
			return nil, fsError(err, "to")
		}
		if n == 0 {
			break
		}
	}
	if err := a.commit(st.Mode&0o7777, owner); err != nil {
		return nil, fsError(err, "to")
	}
	return done(total), nil
}

// dataError is the error of a transfer: ECANCELED when the stream was stopped (or its input cut off),
// else the file error naming field.
func (f *fsStream) dataError(err error, field string) *protocol.OpError {
	if stop := f.stopped(); stop != nil {
		return stop
	}
	if errors.Is(err, errInputClosed) {
		return protocol.Errorf(protocol.CodeCanceled, "%s: input ended without EOF", f.op.Open)
	}
	return fsError(err, field)
}
