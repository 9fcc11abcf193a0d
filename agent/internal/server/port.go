package server

import (
	"bytes"
	"errors"
	"io"
	"os"
	"time"

	"microsandbox/agent/internal/protocol"
)

// ServePort serves the virtio-serial port forever. Reads return EOF while no host is connected, so each
// stretch of data between EOFs is one connection. The guest does not see every disconnect (a quick
// reconnect can hide the EOF), so each connection first skips input up to the host's HELLO frame, and
// after a framing error the agent ends the session and resynchronises on the next HELLO.
func (s *Server) ServePort(f *os.File) {
	for {
		c := s.newConn(f, func() { _ = f.SetWriteDeadline(time.Now()) })
		c.cancelRead = func() error { return f.SetReadDeadline(time.Now()) }
		sync := &syncReader{r: &hostReader{f: f}}
		err := c.serve(sync)
		_ = f.SetReadDeadline(time.Time{})
		if c.finishPark() {
			// Parked for a template snapshot: the next connection starts clean, whatever this one had left.
			s.logf("parked: waiting for a new host")
			s.dropConn(c)
			_ = f.SetWriteDeadline(time.Time{})
			continue
		}
		s.dropConn(c)
		_ = f.SetWriteDeadline(time.Time{})
		if sync.skipped > 0 {
			s.logf("skipped %d bytes before the host HELLO", sync.skipped)
		}
		switch {
		case errors.Is(err, io.EOF):
			s.logf("host disconnected")
		case protocol.ClassOf(err) != "" || isViolation(err):
			s.logf("dropping the session: %v", err)
		default:
			s.logf("port read failed: %v", err)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func isViolation(err error) bool {
	var v *violation
	return errors.As(err, &v)
}

// eofRetry is how long to wait before reading the port again while no host is connected: short, because a VM
// restored from a template waits here for its host's first bytes on the path of a create.
const eofRetry = 2 * time.Millisecond

// hostReader reads the port for one connection: EOFs before the first byte mean "no host yet" and are
// retried; an EOF after data means the host disconnected.
type hostReader struct {
	f       io.Reader
	started bool
}

// Read implements io.Reader.
func (r *hostReader) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 {
			r.started = true
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		if r.started {
			return 0, io.EOF
		}
		time.Sleep(eofRetry)
	}
}

// syncReader discards input until the first HELLO frame (recognised by protocol.HelloMarker at offset 4 of
// the frame) and then passes everything through, starting with that frame.
type syncReader struct {
	r       io.Reader
	buf     []byte
	synced  bool
	skipped int64
}

// Read implements io.Reader.
func (s *syncReader) Read(p []byte) (int, error) {
	marker := protocol.HelloMarker
	for !s.synced {
		if len(s.buf) >= 4 {
			if i := bytes.Index(s.buf[4:], marker); i >= 0 {
				s.skipped += int64(i)
				s.buf = s.buf[i:]
				s.synced = true
				break
			}
		}
		// Keep just enough to match a marker that straddles two reads.
		if keep := len(marker) + 3; len(s.buf) > keep {
			s.skipped += int64(len(s.buf) - keep)
			s.buf = append(s.buf[:0], s.buf[len(s.buf)-keep:]...)
		}
		chunk := make([]byte, 32<<10)
		n, err := s.r.Read(chunk)
		s.buf = append(s.buf, chunk[:n]...)
		if err != nil {
			return 0, err
		}
	}
	if len(s.buf) > 0 {
		n := copy(p, s.buf)
		s.buf = s.buf[n:]
		return n, nil
	}
	return s.r.Read(p)
}
