package server

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"microsandbox/agent/internal/protocol"
)

// pump copies one output pipe (or a terminal's master) into STDOUT/STDERR frames, within the stream's send
// window, until its end; run then sends the channel's empty EOF frame with the exit. Waiting for credit blocks
// the pump, which stops reading the pipe, which blocks the writing process: that is the backpressure. Once the
// stream is cancelled, output is read and discarded instead, for at most drainGrace more.
func (x *execStream) pump(f *os.File, kind protocol.Kind, wg *sync.WaitGroup) {
	defer wg.Done()
	// The buffer is reused by later pumps: sendData encodes its bytes into a frame of their own before returning.
	chunk := x.sess.srv.chunk()
	defer x.sess.srv.putChunk(chunk)
	buf := *chunk
	discarding := false
	for {
		switch {
		case discarding:
			// The deadline is fixed: output that keeps coming (a background job writing endlessly) cannot
			// keep a cancelled stream open.
		case x.win.discarding():
			discarding = true
			_ = f.SetReadDeadline(time.Now().Add(drainGrace))
		case x.procExited.Load():
			_ = f.SetReadDeadline(time.Now().Add(drainGrace))
		}
		n, err := f.Read(buf)
		if n > 0 {
			// Once the stream is cancelled the data is dropped (errDiscarding) and the pipe drained.
			if err := x.sendData(kind, buf[:n]); err != nil && err != errDiscarding {
				break
			}
		}
		if err != nil {
			// EIO on a terminal's master: every holder of the slave closed it (its EOF).
			if err != io.EOF && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, syscall.EIO) {
				x.sess.srv.logf("stream %d: reading %s: %v", x.id, kind, err)
			}
			break
		}
	}
}

// feed writes queued STDIN data to the process (to w: the stdin pipe, or the terminal's master) and returns
// credit to the host as it is consumed. When the process stops reading (EPIPE), later input is discarded but
// still credited, so the host never stalls. At the end of input it closes the pipe, or on a terminal types
// the EOF character (the master stays open: it is also the output).
func (x *execStream) feed(w *os.File, tty bool) {
	broken := false
	for {
		data, ok := x.in.pop()
		if !ok {
			break
		}
		if !broken {
			if _, err := w.Write(data); err != nil {
				broken = true
			}
		}
		if x.credit(len(data)) != nil {
			x.closeStdin()
			return
		}
	}
	if tty {
		if !broken && x.in.ended() {
			_, _ = w.Write([]byte{ttyEOF})
		}
		return
	}
	x.closeStdin()
}

func (x *execStream) closeStdin() {
	x.stdinOnce.Do(func() {
		if x.stdinW != nil {
			x.stdinW.Close()
		}
	})
}
