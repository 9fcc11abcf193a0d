package server

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"syscall"

	"microsandbox/agent/internal/protocol"
)

// listBatch is how many directory entries fs.list (and fs.archive.read) read at a time.
const listBatch = 256

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write implements io.Writer.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// read is fs.read: the bytes of a file (or a character device) from offset, at most length, as STDOUT.
func (f *fsStream) read(req *protocol.FsRead) (any, *protocol.OpError) {
	file, _, err := openNoBlock(req.Path, syscall.O_RDONLY, 0, func(fmt uint32) error {
		switch fmt {
		case syscall.S_IFREG, syscall.S_IFCHR, syscall.S_IFBLK:
			return nil
		case syscall.S_IFDIR:
			return syscall.EISDIR
		}
		return syscall.EINVAL
	})
	if err != nil {
		return nil, fsError(err, "path")
	}
	defer file.Close()
	if req.Offset > 0 {
		if _, err := file.Seek(req.Offset, io.SeekStart); err != nil {
			return nil, fsError(err, "path")
		}
	}
	var r io.Reader = file
	if req.Length != nil {
		r = io.LimitReader(file, *req.Length)
	}
	out := &countingWriter{w: stdoutWriter{f.dataStream}}
	buf := make([]byte, protocol.MaxDataChunk)
	if _, err := io.CopyBuffer(out, r, buf); err != nil {
		return nil, fsError(err, "path")
	}
	return done(out.n), nil
}

// list is fs.list: one JSON line per directory entry, read listBatch entries at a time and sent under
// credit through a MaxDataChunk buffer, so a directory of any size lists in bounded memory.
func (f *fsStream) list(path string) (any, *protocol.OpError) {
	dir, err := openDir(path)
	if err != nil {
		return nil, fsError(err, "path")
	}
	defer dir.Close()
	out := &countingWriter{w: stdoutWriter{f.dataStream}}
	w := bufio.NewWriterSize(out, protocol.MaxDataChunk)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for {
		entries, rerr := dir.ReadDir(listBatch)
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				continue // removed since it was read
			}
			if err := enc.Encode(entryOf(info)); err != nil {
				return nil, fsError(err, "path")
			}
		}
		if stop := f.stopped(); stop != nil {
			return nil, stop
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fsError(rerr, "path")
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fsError(err, "path")
	}
	return done(out.n), nil
}

// openDir opens a directory for reading its entries (ENOTDIR for anything else, without opening it).
func openDir(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// entryOf is the fs.list line of an entry (lstat information).
func entryOf(info os.FileInfo) protocol.FsEntry {
	e := protocol.FsEntry{Name: info.Name(), Kind: kindOfMode(info.Mode()), Size: info.Size(),
		Modified: info.ModTime().UnixMilli()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.Mode = st.Mode & 0o7777
	}
	return e
}

// kindOfMode is the fs kind of a Go file mode.
func kindOfMode(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return protocol.FileKindRegular
	case m.IsDir():
		return protocol.FileKindDirectory
	case m&os.ModeSymlink != 0:
		return protocol.FileKindSymlink
	}
	return protocol.FileKindOther
}

// kindOfStat is the fs kind of a raw st_mode.
func kindOfStat(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		return protocol.FileKindRegular
	case syscall.S_IFDIR:
		return protocol.FileKindDirectory
	case syscall.S_IFLNK:
		return protocol.FileKindSymlink
	}
	return protocol.FileKindOther
}
