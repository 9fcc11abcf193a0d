package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"syscall"
	"time"

	"microsandbox/agent/internal/protocol"
)

// session is what one host HELLO starts: the streams opened since, and the writer epoch their frames
// belong to. A new HELLO or the end of the connection ends the session and kills its processes.
type session struct {
	srv   *Server
	c     *conn
	epoch uint64

	mu      sync.Mutex
	streams map[uint32]*execStream
	closed  bool
}

func newSession(c *conn, epoch uint64) *session {
	return &session{srv: c.srv, c: c, epoch: epoch, streams: map[uint32]*execStream{}}
}

func (s *session) write(stream uint32, kind protocol.Kind, payload []byte) error {
	return s.c.w.write(s.epoch, stream, kind, payload)
}

// sendMsg writes a CONTROL message on a stream.
func (s *session) sendMsg(stream uint32, msg any) {
	_ = s.write(stream, protocol.KindControl, protocol.Marshal(msg))
}

// get returns the running exec on a stream, or nil.
func (s *session) get(id uint32) *execStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id]
}

// add registers a new exec stream; it fails once the session ended.
func (s *session) add(x *execStream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.streams[x.id] = x
	return true
}

func (s *session) remove(id uint32) {
	s.mu.Lock()
	delete(s.streams, id)
	s.mu.Unlock()
}

// snapshot returns the running streams.
func (s *session) snapshot() []*execStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*execStream, 0, len(s.streams))
	for _, x := range s.streams {
		out = append(out, x)
	}
	return out
}

// end kills every process of the session. Their streams finish on their own; their frames are dropped.
func (s *session) end() {
	s.mu.Lock()
	s.closed = true
	streams := make([]*execStream, 0, len(s.streams))
	for _, x := range s.streams {
		streams = append(streams, x)
	}
	s.mu.Unlock()
	for _, x := range streams {
		x.kill()
	}
}

// terminate asks every process of the session to stop (SIGTERM), waits up to grace for their streams to
// finish, then kills what is left and waits a little more for the exit reports to go out.
func (s *session) terminate(grace time.Duration) {
	streams := s.snapshot()
	for _, x := range streams {
		x.terminate(syscall.SIGTERM)
	}
	if waitFinished(streams, grace) {
		return
	}
	s.end()
	waitFinished(streams, time.Second)
}

// waitFinished waits until every stream sent its terminal message; false on timeout.
func waitFinished(streams []*execStream, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, x := range streams {
		select {
		case <-x.finished:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// unmarshal decodes a JSON object strictly enough for the agent: trailing data is an error.
func unmarshal(payload []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(payload))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
