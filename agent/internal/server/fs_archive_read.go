package server

import (
	"archive/tar"
	"bufio"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"microsandbox/agent/internal/protocol"
)

// archiveRead is fs.archive.read: path (a file, or a directory tree) as a PAX tar on STDOUT, entries named
// relative to path's parent. Symlinks inside the tree are archived as links, never followed; a file with
// several links in the tree is stored once and then as hard links. Sockets, FIFOs and devices are skipped.
func (f *fsStream) archiveRead(path string) (any, *protocol.OpError) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nil, fsError(&os.PathError{Op: "stat", Path: path, Err: err}, "path")
	}
	out := &countingWriter{w: stdoutWriter{f.dataStream}}
	bw := bufio.NewWriterSize(out, protocol.MaxDataChunk)
	a := &archiver{f: f, tw: tar.NewWriter(bw), links: map[[2]uint64]string{},
		buf: make([]byte, protocol.MaxDataChunk)}
	name := filepath.Base(path)
	if path == "/" {
		name = "" // the root's entries are named from it
	}
	err := a.add(path, name, &st)
	if err == nil {
		err = a.tw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return nil, fsError(err, "path")
	}
	return done(out.n), nil
}

// archiver writes a tree into a tar stream.
type archiver struct {
	f     *fsStream
	tw    *tar.Writer
	links map[[2]uint64]string // (dev, ino) of files with several links -> the name first archived
	buf   []byte
}

// add archives full (lstat'ed as st) under name, a directory with everything below it.
func (a *archiver) add(full, name string, st *syscall.Stat_t) error {
	if stop := a.f.stopped(); stop != nil {
		return stop
	}
	hdr := &tar.Header{Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec), Format: tar.FormatPAX}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		if name != "" {
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
			if err := a.tw.WriteHeader(hdr); err != nil {
				return err
			}
		}
		return a.addChildren(full, name)
	case syscall.S_IFLNK:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return a.tw.WriteHeader(hdr)
	case syscall.S_IFREG:
		return a.addFile(full, hdr, st)
	}
	a.f.sess.srv.logf("stream %d: fs.archive.read: skipping %s (not a file, directory or symlink)", a.f.id, full)
	return nil
}

// addChildren archives the entries of directory full, listBatch at a time.
func (a *archiver) addChildren(full, name string) error {
	fd, err := syscall.Open(full, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: full, Err: err}
	}
	dir := os.NewFile(uintptr(fd), full)
	defer dir.Close()
	for {
		names, rerr := dir.Readdirnames(listBatch)
		for _, child := range names {
			childFull := filepath.Join(full, child)
			var st syscall.Stat_t
			if err := syscall.Lstat(childFull, &st); err != nil {
				if err == syscall.ENOENT {
					continue // removed since it was read
				}
				return &os.PathError{Op: "lstat", Path: childFull, Err: err}
			}
			childName := child
			if name != "" {
				childName = name + "/" + child
			}
			if err := a.add(childFull, childName, &st); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// addFile archives a regular file: as a hard link to the name it was first archived under, or with its
// contents (exactly the size in its header: a file that shrinks meanwhile is padded with zeros).
func (a *archiver) addFile(full string, hdr *tar.Header, st *syscall.Stat_t) error {
	key := [2]uint64{uint64(st.Dev), st.Ino}
	if st.Nlink > 1 {
		if first, ok := a.links[key]; ok {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return a.tw.WriteHeader(hdr)
		}
		a.links[key] = hdr.Name
	}
	file, fst, err := openNoBlock(full, syscall.O_RDONLY|syscall.O_NOFOLLOW, 0, regularOnly)
	if err != nil {
		return err
	}
	defer file.Close()
	hdr.Typeflag, hdr.Size = tar.TypeReg, fst.Size
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.CopyBuffer(writerOnly{a.tw}, io.LimitReader(file, fst.Size), a.buf)
	if err != nil {
		return err
	}
	for n < fst.Size {
		zero := a.buf[:min64(int64(len(a.buf)), fst.Size-n)]
		for i := range zero {
			zero[i] = 0
		}
		m, err := a.tw.Write(zero)
		if err != nil {
			return err
		}
		n += int64(m)
	}
	return nil
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
