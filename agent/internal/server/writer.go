package server

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"microsandbox/agent/internal/protocol"
)

var (
	// errClosed means the connection is gone; the frame was dropped.
	errClosed = errors.New("connection closed")
	// errStale means the frame belongs to an earlier session of the connection; it was dropped.
	errStale = errors.New("session ended")
)

// frameWriter is the single writer of a connection: frames are written whole, one at a time, and only
// frames of the current session epoch reach the wire.
type frameWriter struct {
	mu    sync.Mutex
	w     io.Writer
	epoch uint64
	dead  atomic.Bool
	// abort unblocks a Write in progress (closes the socket or sets a write deadline).
	abort func()
}

func newFrameWriter(w io.Writer, abort func()) *frameWriter {
	return &frameWriter{w: w, abort: abort}
}

// outFrame is a frame to send: its kind and payload.
type outFrame struct {
	kind    protocol.Kind
	payload []byte
}

// write sends one frame on behalf of session epoch.
func (fw *frameWriter) write(epoch uint64, stream uint32, kind protocol.Kind, payload []byte) error {
	return fw.writeEncoded(epoch, protocol.EncodeFrame(stream, kind, payload))
}

// writeAll sends frames of one stream in a single write (the end of an exec: its channels' EOFs and its exit,
// with an exec.started still held, cross the transport once instead of four times).
func (fw *frameWriter) writeAll(epoch uint64, stream uint32, frames []outFrame) error {
	var buf []byte
	for _, f := range frames {
		buf = append(buf, protocol.EncodeFrame(stream, f.kind, f.payload)...)
	}
	return fw.writeEncoded(epoch, buf)
}

func (fw *frameWriter) writeEncoded(epoch uint64, buf []byte) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.dead.Load() {
		return errClosed
	}
	if epoch != fw.epoch {
		return errStale
	}
	return fw.writeLocked(buf)
}

func (fw *frameWriter) writeLocked(buf []byte) error {
	if _, err := fw.w.Write(buf); err != nil {
		fw.dead.Store(true)
		return err
	}
	return nil
}

// startEpoch begins a new session: frames of earlier epochs are dropped from now on, and hello (the
// agent's HELLO payload) is the first frame of the new epoch.
func (fw *frameWriter) startEpoch(hello []byte) (uint64, error) {
	buf := protocol.EncodeFrame(0, protocol.KindHello, hello)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.epoch++
	if fw.dead.Load() {
		return fw.epoch, errClosed
	}
	return fw.epoch, fw.writeLocked(buf)
}

// kill stops all writing: later writes fail, and a write in progress is aborted. It returns once no write
// is in progress.
func (fw *frameWriter) kill() {
	fw.dead.Store(true)
	if fw.abort != nil {
		fw.abort()
	}
	fw.mu.Lock()
	fw.mu.Unlock() // only waits for an in-flight write to end
}
