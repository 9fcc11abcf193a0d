package server

import (
	"os"
	"strconv"
	"syscall"

	"microsandbox/agent/internal/protocol"
)

// output is an output channel of a process that the agent reads: a pipe's read end, or a terminal's master.
//
// A pipe's end stays a raw non-blocking fd, outside the poller, until a pump needs it: a command that exits
// within startedHold has all its output in the pipe already, and drain reads it at once. Registering both pipes
// with the poller, starting their pumps, waking them on the pipes' end and unregistering them cost a short exec
// ~0.7 ms of its guest's one vCPU under TCG (fork+exec of /bin/true with both pipes read by pumps against read
// after the exit, interleaved in one guest).
type output struct {
	kind protocol.Kind
	fd   int      // the raw fd, -1 once file wraps it (or it is closed)
	file *os.File // nil until a pump reads the channel
}

// pipeOutput wraps the read end of a pipe (a non-blocking fd).
func pipeOutput(kind protocol.Kind, fd int) *output { return &output{kind: kind, fd: fd} }

// fileOutput wraps a file already registered with the poller (a terminal's master).
func fileOutput(kind protocol.Kind, f *os.File) *output { return &output{kind: kind, fd: -1, file: f} }

// osFile returns the channel as a pollable os.File, wrapping the raw fd on first use.
func (o *output) osFile() *os.File {
	if o.file == nil && o.fd >= 0 {
		o.file = os.NewFile(uintptr(o.fd), "|"+strconv.Itoa(o.fd))
		o.fd = -1
	}
	return o.file
}

// maxDrain bounds what drain reads: what an exited process can leave in a pipe (the default pipe-max-size). More
// means a background job is still writing, which a pump handles (it stops a cancelled stream's draining).
const maxDrain = 1 << 20

// drain reads what the pipe holds now, without waiting, and passes it to send; it reports whether the pipe
// reached its end (or cannot be read any more). A pipe that is empty but still open (a background job of the
// exited command holds its write end), or that gave maxDrain bytes, is not at its end: a pump then reads the
// rest. Only for a raw fd.
func (o *output) drain(buf []byte, send func([]byte) error) (ended bool) {
	for total := 0; total < maxDrain; {
		n, err := syscall.Read(o.fd, buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil || n == 0:
			return true
		}
		total += n
		if err := send(buf[:n]); err != nil && err != errDiscarding {
			return true // the stream is gone: nothing more can be sent
		}
	}
	return false
}

// close closes the channel (the raw fd, or the file).
func (o *output) close() {
	if o.fd >= 0 {
		syscall.Close(o.fd)
		o.fd = -1
	}
	if o.file != nil {
		o.file.Close()
	}
}
