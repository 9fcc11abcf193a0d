package server

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"microsandbox/agent/internal/protocol"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

// Read implements io.Reader.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// archiveWrite is fs.archive.write: the tar stream on STDIN is extracted into the directory path (created
// with its parents). Every entry is created through an extractRoot, so nothing outside path is written;
// entries with absolute names or ".." components, paths through a symlink that leads out, hard links to
// outside, devices and FIFOs are refused (EINVAL naming the entry). Modes and mtimes are applied, owners
// only when the operation runs as root; directories get theirs at the end (their mtimes change as entries
// are added, and a read-only mode would stop the extraction). Entries before a refused one stay.
func (f *fsStream) archiveWrite(dir string) (any, *protocol.OpError) {
	if err := notDir(mkdirAll(dir, 0o755)); err != nil {
		return nil, fsError(err, "path")
	}
	root, err := openExtractRoot(dir)
	if err != nil {
		return nil, fsError(err, "path")
	}
	defer root.close()
	in := &countingReader{r: &stdinReader{d: f.dataStream}}
	x := &extractor{f: f, root: root, owners: f.cred.uid == 0, buf: make([]byte, protocol.MaxDataChunk)}
	tr := tar.NewReader(in)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if stop := f.dataError(err, "path"); stop.Code == protocol.CodeCanceled {
				return nil, stop
			}
			return nil, protocol.FieldErrorf(protocol.CodeInvalid, "path", "fs.archive.write: reading the archive: %v", err)
		}
		if opErr := x.entry(hdr, tr); opErr != nil {
			return nil, opErr
		}
	}
	if opErr := x.finishDirs(); opErr != nil {
		return nil, opErr
	}
	// The host's input ends with its EOF (after the archive's own end and any record padding).
	if _, err := io.CopyBuffer(io.Discard, in, x.buf); err != nil {
		return nil, f.dataError(err, "path")
	}
	return done(in.n), nil
}

// extractor creates the entries of one archive below its root.
type extractor struct {
	f      *fsStream
	root   *extractRoot
	owners bool       // apply the entries' uid/gid
	dirs   []dirAttrs // directories whose attributes are applied at the end
	buf    []byte
}

// dirAttrs are a directory entry's attributes, applied once the whole archive is extracted.
type dirAttrs struct {
	name     string
	mode     uint32
	uid, gid int
	mtime    time.Time
}

// entryName checks an entry's name (or a hard link's target) and returns it cleaned, relative to the
// root ("" for the root itself).
func entryName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute names are not extracted")
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("the name contains a NUL byte")
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", errors.New("names with '..' are not extracted")
		}
	}
	name = path.Clean(name)
	if name == "." {
		return "", nil
	}
	return name, nil
}

// entry extracts one entry, whose data tr holds.
func (x *extractor) entry(hdr *tar.Header, body io.Reader) *protocol.OpError {
	if stop := x.f.stopped(); stop != nil {
		return stop
	}
	refuse := func(format string, args ...any) *protocol.OpError {
		return protocol.FieldErrorf(protocol.CodeInvalid, "path", "fs.archive.write: entry %q: %s", hdr.Name,
			fmt.Sprintf(format, args...))
	}
	name, err := entryName(hdr.Name)
	if err != nil {
		return refuse("%v", err)
	}
	var linkSource string
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeDir:
		if name == "" {
			return nil // the root itself keeps its attributes
		}
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeSymlink:
	case tar.TypeLink:
		if linkSource, err = entryName(hdr.Linkname); err != nil || linkSource == "" {
			return refuse("hard link to %q: %v", hdr.Linkname, err)
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return refuse("devices and FIFOs are not extracted")
	default:
		return refuse("unsupported entry type %q", hdr.Typeflag)
	}
	if name == "" {
		return refuse("only a directory may name the target directory itself")
	}
	err = x.create(hdr, name, linkSource, body)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errEscape):
		return refuse("%v", err)
	case errors.Is(err, errInputClosed) || x.f.stopped() != nil:
		return x.f.dataError(err, "path")
	}
	opErr := fsError(err, "path")
	opErr.Message = fmt.Sprintf("fs.archive.write: entry %q: %s", hdr.Name, opErr.Message)
	return opErr
}

// create makes the entry name (checked, non-empty) below the root.
func (x *extractor) create(hdr *tar.Header, name, linkSource string, body io.Reader) error {
	if hdr.Typeflag == tar.TypeDir {
		fd, err := x.root.openDir(name, true)
		if err != nil {
			return err
		}
		syscall.Close(fd)
		x.dirs = append(x.dirs, dirAttrs{name: name, mode: uint32(hdr.Mode) & 0o7777, uid: hdr.Uid, gid: hdr.Gid,
			mtime: hdr.ModTime})
		return nil
	}
	if hdr.Typeflag == tar.TypeLink && linkSource == name {
		return nil // a link to itself: nothing to do
	}
	parent, base := path.Split(name)
	dirfd, err := x.root.openDir(parent, true)
	if err != nil {
		return err
	}
	defer syscall.Close(dirfd)
	if err := clearName(dirfd, base); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		if err := symlinkat(hdr.Linkname, dirfd, base); err != nil {
			return err
		}
		return x.setAttrs(dirfd, base, -1, hdr)
	case tar.TypeLink:
		srcParent, srcBase := path.Split(linkSource)
		srcfd, err := x.root.openDir(srcParent, false)
		if err != nil {
			return err
		}
		defer syscall.Close(srcfd)
		return linkat(srcfd, srcBase, dirfd, base)
	}
	return x.writeFile(dirfd, base, hdr, body)
}

// writeFile creates a regular file with the entry's data and attributes; a file left incomplete is removed.
func (x *extractor) writeFile(dirfd int, base string, hdr *tar.Header, body io.Reader) error {
	fd, err := syscall.Openat(dirfd, base, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|
		syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	file := os.NewFile(uintptr(fd), base)
	_, err = io.CopyBuffer(writerOnly{file}, body, x.buf)
	if err == nil {
		err = x.setAttrs(fd, "", hdr.Mode&0o7777, hdr)
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = unlinkat(dirfd, base, 0)
	}
	return err
}

// setAttrs applies an entry's owner (as root), mode (unless mode is -1, as for a symlink) and times, to fd
// itself when name is "", else to name in fd without following it.
func (x *extractor) setAttrs(fd int, name string, mode int64, hdr *tar.Header) error {
	if x.owners {
		var err error
		if name == "" {
			err = syscall.Fchown(fd, hdr.Uid, hdr.Gid)
		} else {
			err = syscall.Fchownat(fd, name, hdr.Uid, hdr.Gid, atSymlinkNofollow)
		}
		if err != nil {
			return err
		}
	}
	if mode >= 0 {
		if err := syscall.Fchmod(fd, uint32(mode)); err != nil {
			return err
		}
	}
	times := [2]syscall.Timespec{{Nsec: utimeOmit}, timespecOf(hdr.ModTime)}
	if !hdr.AccessTime.IsZero() {
		times[0] = timespecOf(hdr.AccessTime)
	}
	return utimensat(fd, name, &times)
}

// finishDirs applies the directories' attributes, deepest (latest) first.
func (x *extractor) finishDirs() *protocol.OpError {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		fd, err := x.root.openDir(d.name, false)
		if err == nil {
			err = x.setAttrs(fd, "", int64(d.mode), &tar.Header{Uid: d.uid, Gid: d.gid, ModTime: d.mtime})
			syscall.Close(fd)
		}
		if err != nil {
			opErr := fsError(err, "path")
			opErr.Message = fmt.Sprintf("fs.archive.write: directory %q: %s", d.name, opErr.Message)
			return opErr
		}
	}
	return nil
}

// clearName removes what is at name in dirfd (a file, a symlink, an empty directory) before an entry
// takes its place; nothing there is fine.
func clearName(dirfd int, name string) error {
	err := unlinkat(dirfd, name, 0)
	if err == syscall.EISDIR {
		err = unlinkat(dirfd, name, atRemovedir)
	}
	if err == syscall.ENOENT {
		return nil
	}
	return err
}
