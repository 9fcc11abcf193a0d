package server

import (
	"errors"
	"fmt"
	"sync"

	"microsandbox/agent/internal/protocol"
)

var (
	// errStreamClosed is returned by flow-control waits once the stream was torn down.
	errStreamClosed = errors.New("stream closed")
	// errDiscarding is returned by acquire once the stream was cancelled: output is dropped, not sent.
	errDiscarding = errors.New("stream cancelled: output is discarded")
)

// maxCredit caps accumulated send credit; a host may grant more than it will ever need.
const maxCredit = 1 << 40

// sendWindow is the credit the agent has for sending STDOUT/STDERR bytes on one stream.
type sendWindow struct {
	mu      sync.Mutex
	cond    *sync.Cond
	avail   int64
	closed  bool
	discard bool
}

func newSendWindow() *sendWindow {
	w := &sendWindow{avail: protocol.InitialWindow}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// acquire blocks until some credit is available and takes up to max bytes of it. It never blocks again once
// the window is closed (errStreamClosed) or discarding (errDiscarding).
func (w *sendWindow) acquire(max int) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.avail <= 0 && !w.closed && !w.discard {
		w.cond.Wait()
	}
	if w.closed {
		return 0, errStreamClosed
	}
	if w.discard {
		return 0, errDiscarding
	}
	n := int64(max)
	if n > w.avail {
		n = w.avail
	}
	w.avail -= n
	return int(n), nil
}

// tryAcquire takes n bytes of credit if the window has them now (and is neither closed nor discarding); it never
// blocks.
func (w *sendWindow) tryAcquire(n int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.discard || w.avail < int64(n) {
		return false
	}
	w.avail -= int64(n)
	return true
}

// add grants credit from a WINDOW frame.
func (w *sendWindow) add(n uint32) {
	w.mu.Lock()
	w.avail += int64(n)
	if w.avail > maxCredit {
		w.avail = maxCredit
	}
	w.mu.Unlock()
	w.cond.Broadcast()
}

// close tears the window down (the session ended): waits end with errStreamClosed.
func (w *sendWindow) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cond.Broadcast()
}

// setDiscard makes the window drop output (stream.cancel): waits end with errDiscarding.
func (w *sendWindow) setDiscard() {
	w.mu.Lock()
	w.discard = true
	w.mu.Unlock()
	w.cond.Broadcast()
}

// discarding reports whether output is dropped.
func (w *sendWindow) discarding() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.discard
}

// inputQueue holds STDIN bytes received from the host until they are written to the process, and keeps
// the receive-side accounting: bytes received minus credit returned may never exceed the initial window.
type inputQueue struct {
	mu          sync.Mutex
	cond        *sync.Cond
	chunks      [][]byte
	eof         bool
	closed      bool
	outstanding int64 // received and not yet credited back
}

func newInputQueue() *inputQueue {
	q := &inputQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push queues data from a STDIN frame (empty = end of input). It fails when the host overran its window.
func (q *inputQueue) push(data []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(data) == 0 {
		q.eof = true
		q.cond.Broadcast()
		return nil
	}
	q.outstanding += int64(len(data))
	if q.outstanding > protocol.InitialWindow {
		return fmt.Errorf("host sent %d STDIN bytes beyond its window", q.outstanding-protocol.InitialWindow)
	}
	if q.eof || q.closed {
		return nil // input after EOF or after the stream ended: dropped
	}
	q.chunks = append(q.chunks, data)
	q.cond.Broadcast()
	return nil
}

// pop waits for the next chunk. ok is false at end of input or when the queue was closed.
func (q *inputQueue) pop() (data []byte, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.chunks) == 0 && !q.eof && !q.closed {
		q.cond.Wait()
	}
	if q.closed || len(q.chunks) == 0 {
		return nil, false
	}
	data = q.chunks[0]
	q.chunks[0] = nil
	q.chunks = q.chunks[1:]
	return data, true
}

// ended reports whether the host ended its input (rather than the queue being closed).
func (q *inputQueue) ended() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.eof && !q.closed
}

// credited records that n bytes were returned to the host with a WINDOW frame.
func (q *inputQueue) credited(n int64) {
	q.mu.Lock()
	q.outstanding -= n
	q.mu.Unlock()
}

func (q *inputQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.chunks = nil
	q.mu.Unlock()
	q.cond.Broadcast()
}
