package server

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// ttyEOF is the terminal's end-of-input character (VEOF, ^D): what the agent types when the host's input
// ends.
const ttyEOF = 0x04

// maxTtySize bounds the rows and columns of a terminal (a u16 in struct winsize; 0 means unknown).
const maxTtySize = 65535

// winsize is struct winsize of TIOCSWINSZ.
type winsize struct {
	Row, Col, Xpixel, Ypixel uint16
}

func ioctl(fd, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

// openPty opens a new pseudo-terminal of rows x cols. The master is non-blocking and registered with the
// runtime poller (so read deadlines work on it); the slave is an ordinary blocking file for the child.
func openPty(rows, cols int) (master, slave *os.File, err error) {
	mfd, err := syscall.Open("/dev/ptmx", syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fail := func(what string, err error) (*os.File, *os.File, error) {
		syscall.Close(mfd)
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	var unlock int32
	if err := ioctl(uintptr(mfd), syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		return fail("unlocking the pseudo-terminal", err)
	}
	var n uint32
	if err := ioctl(uintptr(mfd), syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		return fail("pseudo-terminal number", err)
	}
	ws := winsize{Row: uint16(rows), Col: uint16(cols)}
	if err := ioctl(uintptr(mfd), syscall.TIOCSWINSZ, unsafe.Pointer(&ws)); err != nil {
		return fail("setting the window size", err)
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	sfd, err := syscall.Open(name, syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fail("open "+name, err)
	}
	// os.NewFile sees O_NONBLOCK and makes the master pollable.
	return os.NewFile(uintptr(mfd), "/dev/ptmx"), os.NewFile(uintptr(sfd), name), nil
}

// setWinsize sets the window size of a terminal through its (pollable) master; the foreground process group
// gets SIGWINCH. The fd is used through SyscallConn: File.Fd would switch the master to blocking mode.
func setWinsize(master *os.File, rows, cols int) error {
	rc, err := master.SyscallConn()
	if err != nil {
		return err
	}
	ws := winsize{Row: uint16(rows), Col: uint16(cols)}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = ioctl(fd, syscall.TIOCSWINSZ, unsafe.Pointer(&ws)) }); err != nil {
		return err
	}
	return ioErr
}

// validTtySize reports whether rows and cols are each 1..65535.
func validTtySize(rows, cols int) bool {
	return rows >= 1 && rows <= maxTtySize && cols >= 1 && cols <= maxTtySize
}
