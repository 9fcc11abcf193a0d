package server

import (
	"errors"
	"io"
	"sync"
	"time"

	"microsandbox/agent/internal/protocol"
)

// errInputClosed is what an operation reads once its input was cut off (stream.cancel, session end) before
// the host's EOF.
var errInputClosed = errors.New("input closed before its end")

// liveOp is the running state of an operation that outlives its opening message (exec and the fs
// operations): the session routes data, credit and follow-ups to it, and stops it.
type liveOp interface {
	// stream is the operation's flow-controlled stream.
	stream() *dataStream
	// control handles a follow-up the operation's row allows.
	control(typ string, payload []byte)
	// terminate asks the operation to stop on shutdown (a process gets SIGTERM).
	terminate()
	// kill tears the operation down when its session ends: it ends on its own soon after.
	kill()
}

// dataStream is the stream of an operation that carries data: its frames, in order and none after the
// terminal message; its output under the send window (STDOUT/STDERR in frames of at most MaxDataChunk);
// its input, queued as it arrives and credited back to the host as it is consumed.
type dataStream struct {
	sess *session
	id   uint32
	win  *sendWindow
	in   *inputQueue // nil when the operation takes no input

	sendMu sync.Mutex // orders the stream's frames; nothing is sent after the terminal message
	ended  bool
	// held are frames queued by sendSoon: they go out in the same write as the stream's next frame, or when
	// heldTimer fires, whichever comes first.
	held      []outFrame
	heldTimer *time.Timer

	creditMu sync.Mutex
	consumed int64 // input consumed and not yet credited back

	finished chan struct{} // closed after the terminal message
}

// newDataStream creates a stream; with input its queue exists at once (before any STDIN can arrive).
func newDataStream(sess *session, id uint32, input bool) *dataStream {
	d := &dataStream{sess: sess, id: id, win: newSendWindow(), finished: make(chan struct{})}
	if input {
		d.in = newInputQueue()
	}
	return d
}

func (d *dataStream) stream() *dataStream { return d }

// send writes one frame of this stream (after the frames held by sendSoon, in the same write) unless the
// stream already ended.
func (d *dataStream) send(kind protocol.Kind, payload []byte) error {
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if d.ended {
		return errStale
	}
	if len(d.held) == 0 {
		return d.sess.write(d.id, kind, payload)
	}
	return d.sess.writeAll(d.id, append(d.takeHeld(), outFrame{kind, payload}))
}

// sendSoon queues a frame to go out in the same write as the stream's next frame, and after delay at the
// latest. A short command's whole stream (exec.started, its output or its exit) then crosses the transport in
// one write instead of two: under TCG each write costs the guest ~0.2-0.3 ms of its one vCPU.
func (d *dataStream) sendSoon(kind protocol.Kind, payload []byte, delay time.Duration) {
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if d.ended {
		return
	}
	d.held = append(d.held, outFrame{kind, payload})
	if d.heldTimer == nil {
		d.heldTimer = time.AfterFunc(delay, d.flushHeld)
	}
}

// holdData queues data to go out in the same write as the stream's next frame (see sendSoon), in frames of at
// most MaxDataChunk bytes, when the send window covers all of it now; else it queues nothing and reports false.
func (d *dataStream) holdData(kind protocol.Kind, data []byte) bool {
	if !d.win.tryAcquire(len(data)) {
		return false
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	for !d.ended && len(data) > 0 {
		n := len(data)
		if n > protocol.MaxDataChunk {
			n = protocol.MaxDataChunk
		}
		d.held = append(d.held, outFrame{kind, append([]byte(nil), data[:n]...)})
		data = data[n:]
	}
	return true
}

// flushHeld sends the held frames (their delay is over).
func (d *dataStream) flushHeld() {
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if !d.ended && len(d.held) > 0 {
		_ = d.sess.writeAll(d.id, d.takeHeld())
	}
}

// takeHeld returns the held frames and forgets them (sendMu held).
func (d *dataStream) takeHeld() []outFrame {
	held := d.held
	d.held = nil
	if d.heldTimer != nil {
		d.heldTimer.Stop()
		d.heldTimer = nil
	}
	return held
}

// finish leaves the session and sends the terminal message (once); later frames of the stream are dropped.
func (d *dataStream) finish(msg any) { d.finishAfterEOF(nil, msg) }

// finishAfterEOF is finish with the held frames and the empty EOF frames of the output channels eofs sent first,
// in the same write.
func (d *dataStream) finishAfterEOF(eofs []protocol.Kind, msg any) {
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if !d.ended {
		d.ended = true
		frames := d.takeHeld()
		for _, kind := range eofs {
			frames = append(frames, outFrame{kind: kind})
		}
		d.sess.finishAfter(d.id, frames, msg)
		close(d.finished)
	}
}

// sendData sends data in frames of at most MaxDataChunk bytes, each within the available credit. Once the
// stream is cancelled it returns errDiscarding (the data is dropped), once it is torn down errStreamClosed.
func (d *dataStream) sendData(kind protocol.Kind, data []byte) error {
	for len(data) > 0 {
		n, err := d.win.acquire(len(data))
		if err != nil {
			return err
		}
		if n > protocol.MaxDataChunk {
			n = protocol.MaxDataChunk
		}
		if err := d.send(kind, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// credit records n input bytes as consumed and returns them to the host once half a window accumulated.
func (d *dataStream) credit(n int) error {
	d.creditMu.Lock()
	defer d.creditMu.Unlock()
	d.consumed += int64(n)
	if d.consumed < protocol.InitialWindow/2 {
		return nil
	}
	grant := d.consumed
	d.consumed = 0
	d.in.credited(grant)
	return d.send(protocol.KindWindow, protocol.WindowPayload(uint32(grant)))
}

// stdoutWriter is an io.Writer of STDOUT frames under the stream's credit; it fails once the stream is
// cancelled or torn down, which stops the operation writing to it.
type stdoutWriter struct{ d *dataStream }

// Write implements io.Writer.
func (w stdoutWriter) Write(p []byte) (int, error) {
	if err := w.d.sendData(protocol.KindStdout, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// stdinReader is an io.Reader of the stream's input: io.EOF at the host's end of input, errInputClosed when
// the input was cut off first. Bytes are credited back as they are read.
type stdinReader struct {
	d   *dataStream
	buf []byte
}

// Read implements io.Reader.
func (r *stdinReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		data, ok := r.d.in.pop()
		if !ok {
			if r.d.in.ended() {
				return 0, io.EOF
			}
			return 0, errInputClosed
		}
		r.buf = data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	if err := r.d.credit(n); err != nil {
		return n, err
	}
	return n, nil
}
