package server

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"microsandbox/agent/internal/protocol"
)

// pump copies one output pipe into STDOUT/STDERR frames, within the stream's send window, then sends the
// channel's empty EOF frame. Waiting for credit blocks the pump, which stops reading the pipe, which
// blocks the writing process: that is the backpressure.
func (x *execStream) pump(f *os.File, kind protocol.Kind, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, protocol.MaxDataChunk)
	for {
		if x.procExited.Load() {
			_ = f.SetReadDeadline(time.Now().Add(drainGrace))
		}
		n, err := f.Read(buf)
		if n > 0 {
			if x.sendData(kind, buf[:n]) != nil {
				break
			}
		}
		if err != nil {
			if err != io.EOF && !errors.Is(err, os.ErrDeadlineExceeded) {
				x.sess.srv.logf("stream %d: reading %s: %v", x.id, kind, err)
			}
			break
		}
	}
	_ = x.send(kind, nil)
}

// sendData sends data in frames of at most MaxDataChunk bytes, each within the available credit.
func (x *execStream) sendData(kind protocol.Kind, data []byte) error {
	for len(data) > 0 {
		n, err := x.win.acquire(len(data))
		if err != nil {
			return err
		}
		if n > protocol.MaxDataChunk {
			n = protocol.MaxDataChunk
		}
		if err := x.send(kind, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// feed writes queued STDIN data to the process and returns credit to the host as it is consumed. When the
// process stops reading (EPIPE), later input is discarded but still credited, so the host never stalls.
func (x *execStream) feed() {
	defer x.closeStdin()
	var consumed int64
	broken := false
	for {
		data, ok := x.in.pop()
		if !ok {
			return
		}
		if !broken {
			if _, err := x.stdinW.Write(data); err != nil {
				broken = true
			}
		}
		consumed += int64(len(data))
		if consumed >= protocol.InitialWindow/2 {
			x.in.credited(consumed)
			if x.send(protocol.KindWindow, protocol.WindowPayload(uint32(consumed))) != nil {
				return
			}
			consumed = 0
		}
	}
}

func (x *execStream) closeStdin() {
	x.stdinOnce.Do(func() {
		if x.stdinW != nil {
			x.stdinW.Close()
		}
	})
}
