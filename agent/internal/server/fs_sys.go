package server

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Raw *at system calls that Go 1.19's syscall package lacks or keeps unexported. Each returns a bare
// syscall.Errno; callers wrap it with the path it concerns.

const (
	atSymlinkNofollow = 0x100
	atRemovedir       = 0x200
	atEaccess         = 0x200 // faccessat2: check with the effective (here: filesystem) ids
	statxBtime        = 0x800
	utimeOmit         = (1 << 30) - 2
	stRdonly          = 1 // statfs f_flags: a read-only mount
)

// atFdcwd is AT_FDCWD, a variable so that it converts to uintptr.
var atFdcwd = -100

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func readlinkat(dirfd int, name string) (string, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return "", err
	}
	buf := make([]byte, pathMax)
	n, _, e := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return "", e
	}
	if int(n) >= len(buf) {
		return "", syscall.ENAMETOOLONG
	}
	return string(buf[:n]), nil
}

func symlinkat(target string, dirfd int, name string) error {
	t, err := syscall.BytePtrFromString(target)
	if err != nil {
		return err
	}
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall(syscall.SYS_SYMLINKAT, uintptr(unsafe.Pointer(t)), uintptr(dirfd), uintptr(unsafe.Pointer(p)))
	return errnoErr(e)
}

// linkat hard-links oldname (never followed, as linkat without AT_SYMLINK_FOLLOW) as newname.
func linkat(olddirfd int, oldname string, newdirfd int, newname string) error {
	o, err := syscall.BytePtrFromString(oldname)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(newname)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(olddirfd), uintptr(unsafe.Pointer(o)), uintptr(newdirfd),
		uintptr(unsafe.Pointer(n)), 0, 0)
	return errnoErr(e)
}

func unlinkat(dirfd int, name string, flags int) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall(syscall.SYS_UNLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags))
	return errnoErr(e)
}

// utimensat sets the times of name in dirfd (of dirfd itself when name is ""), not following a symlink.
func utimensat(dirfd int, name string, times *[2]syscall.Timespec) error {
	var p *byte
	flags := 0
	if name != "" {
		var err error
		if p, err = syscall.BytePtrFromString(name); err != nil {
			return err
		}
		flags = atSymlinkNofollow
	}
	_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(times)), uintptr(flags), 0, 0)
	return errnoErr(e)
}

// faccessat2 checks access to path with the calling thread's filesystem identity (AT_EACCESS), without
// following a final symlink.
func faccessat2(path string, mode uint32) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(sysFaccessat, uintptr(atFdcwd), uintptr(unsafe.Pointer(p)), uintptr(mode),
		atEaccess|atSymlinkNofollow, 0, 0)
	return errnoErr(e)
}

// statxTimestamp and statxBuf are struct statx_timestamp and struct statx (256 bytes, the same on every
// architecture).
type statxTimestamp struct {
	Sec  int64
	Nsec uint32
	_    int32
}

type statxBuf struct {
	Mask           uint32
	Blksize        uint32
	Attributes     uint64
	Nlink          uint32
	UID            uint32
	GID            uint32
	Mode           uint16
	_              uint16
	Ino            uint64
	Size           uint64
	Blocks         uint64
	AttributesMask uint64
	Atime, Btime   statxTimestamp
	Ctime, Mtime   statxTimestamp
	RdevMajor      uint32
	RdevMinor      uint32
	DevMajor       uint32
	DevMinor       uint32
	_              [14]uint64
}

// birthTime returns the birth time of path (not following a final symlink) in ms since the epoch, or nil
// when the kernel or the filesystem has none.
func birthTime(path string) *int64 {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return nil
	}
	var buf statxBuf
	_, _, e := syscall.Syscall6(sysStatx, uintptr(atFdcwd), uintptr(unsafe.Pointer(p)), atSymlinkNofollow,
		statxBtime, uintptr(unsafe.Pointer(&buf)), 0)
	if e != 0 || buf.Mask&statxBtime == 0 {
		return nil
	}
	ms := buf.Btime.Sec*1000 + int64(buf.Btime.Nsec)/1e6
	return &ms
}

// openNoBlock opens path with flags plus O_NONBLOCK (so a FIFO cannot block the open), checks its type
// with allowed (given st_mode & S_IFMT; its error fails the open), then makes the descriptor blocking again.
func openNoBlock(path string, flags int, perm uint32, allowed func(fmt uint32) error) (*os.File, *syscall.Stat_t, error) {
	fd, err := syscall.Open(path, flags|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, perm)
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := allowed(st.Mode & syscall.S_IFMT); err != nil {
		syscall.Close(fd)
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, nil, &os.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), &st, nil
}

// regularOnly allows regular files: a directory is EISDIR, anything else EINVAL.
func regularOnly(fmt uint32) error {
	switch fmt {
	case syscall.S_IFREG:
		return nil
	case syscall.S_IFDIR:
		return syscall.EISDIR
	}
	return syscall.EINVAL
}

// timespecOf converts a time for utimensat (any year: no UnixNano overflow).
func timespecOf(t time.Time) syscall.Timespec {
	return syscall.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// msOf returns a timestamp in ms since the epoch.
func msOf(ts syscall.Timespec) int64 {
	return ts.Sec*1000 + ts.Nsec/1e6
}

// syncfs flushes the filesystem that holds fd (the syscall package has no wrapper).
func syncfs(fd int) error {
	if _, _, errno := syscall.Syscall(sysSyncfs, uintptr(fd), 0, 0); errno != 0 {
		return errno
	}
	return nil
}
