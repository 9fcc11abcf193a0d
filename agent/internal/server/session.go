package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"microsandbox/agent/internal/protocol"
)

// session is what one host HELLO starts: the operations opened since, and the writer epoch their frames
// belong to. A new HELLO or the end of the connection ends the session and kills its processes.
type session struct {
	srv   *Server
	c     *conn
	epoch uint64

	mu      sync.Mutex
	streams map[uint32]*opStream
	closed  bool
}

// opStream is an open operation: its stream, its row of the operation table, and its state.
type opStream struct {
	id   uint32
	op   *protocol.Operation
	live liveOp // the running exec or fs operation; nil for operations that only answer
}

func newSession(c *conn, epoch uint64) *session {
	return &session{srv: c.srv, c: c, epoch: epoch, streams: map[uint32]*opStream{}}
}

func (s *session) write(stream uint32, kind protocol.Kind, payload []byte) error {
	return s.c.w.write(s.epoch, stream, kind, payload)
}

// writeAll writes frames of one stream in a single write.
func (s *session) writeAll(stream uint32, frames []outFrame) error {
	return s.c.w.writeAll(s.epoch, stream, frames)
}

// sendMsg writes a CONTROL message on a stream.
func (s *session) sendMsg(stream uint32, msg any) {
	_ = s.write(stream, protocol.KindControl, protocol.Marshal(msg))
}

// finish ends an operation: it leaves the session, then its terminal message goes out (so a host that saw
// the terminal message never counts the operation as open).
func (s *session) finish(stream uint32, msg any) {
	s.finishAfter(stream, nil, msg)
}

// finishAfter is finish with frames of the stream (its output channels' EOFs) sent just before the terminal
// message, in the same write.
func (s *session) finishAfter(stream uint32, before []outFrame, msg any) {
	s.remove(stream)
	frames := append(before, outFrame{protocol.KindControl, protocol.Marshal(msg)})
	_ = s.writeAll(stream, frames)
}

// get returns the operation open on a stream, or nil.
func (s *session) get(id uint32) *opStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id]
}

// getData returns the data stream of the operation running on a stream, or nil.
func (s *session) getData(id uint32) *dataStream {
	if st := s.get(id); st != nil && st.live != nil {
		return st.live.stream()
	}
	return nil
}

// errSessionEnded is the answer to an operation opened while its session ends (it is never sent: frames of
// an ended session are dropped).
var errSessionEnded = protocol.Errorf(protocol.CodeIO, "session ended")

// maxStreams is the bound of open operations per session: protocol.MaxStreamsPerSession (a variable so tests
// can reach it cheaply).
var maxStreams = protocol.MaxStreamsPerSession

// open registers a new operation. It fails with EAGAIN when maxStreams operations are open, and once the
// session ended.
func (s *session) open(st *opStream) *protocol.OpError {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errSessionEnded
	case len(s.streams) >= maxStreams:
		return protocol.Errorf(protocol.CodeAgain, "%s: %d operations are open in this session (the most there may be)",
			st.op.Open, len(s.streams))
	}
	s.streams[st.id] = st
	return nil
}

func (s *session) remove(id uint32) {
	s.mu.Lock()
	delete(s.streams, id)
	s.mu.Unlock()
}

// count returns the number of open operations.
func (s *session) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// lives returns the running operations (execs and fs operations).
func (s *session) lives() []liveOp {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]liveOp, 0, len(s.streams))
	for _, st := range s.streams {
		if st.live != nil {
			out = append(out, st.live)
		}
	}
	return out
}

// end kills every process and stops every file operation of the session. Their streams finish on their
// own; their frames are dropped.
func (s *session) end() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for _, x := range s.lives() {
		x.kill()
	}
}

// terminate asks every operation of the session to stop (processes get SIGTERM, file operations stop as at
// the session's end), waits up to grace for their streams to finish, then kills what is left and waits a
// little more for the exit reports to go out.
func (s *session) terminate(grace time.Duration) {
	streams := s.lives()
	for _, x := range streams {
		x.terminate()
	}
	if waitFinished(streams, grace) {
		return
	}
	s.end()
	waitFinished(streams, time.Second)
}

// waitFinished waits until every stream sent its terminal message; false on timeout.
func waitFinished(streams []liveOp, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, x := range streams {
		select {
		case <-x.stream().finished:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// unmarshal decodes a host message strictly: a field its struct does not have, or trailing data, is an error.
func unmarshal(payload []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// messageType returns the type of a control message, looking at no other field.
func messageType(payload []byte) (string, error) {
	var env protocol.Envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return "", err
	}
	if env.Type == "" {
		return "", errors.New("no message type")
	}
	return env.Type, nil
}

// parseError is the EINVAL answer to a message that unmarshal rejected; it names the offending field when
// the decoder says which (a field of the wrong type, or an unknown field).
func parseError(typ string, err error) *protocol.OpError {
	field := ""
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field = te.Field
	} else if name, ok := unknownField(err); ok {
		field = name
	}
	return protocol.FieldErrorf(protocol.CodeInvalid, field, "%s: %v", typ, err)
}

// unknownField extracts the name from encoding/json's `json: unknown field "name"` error.
func unknownField(err error) (string, bool) {
	const prefix = "json: unknown field "
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) {
		return "", false
	}
	name, uerr := strconv.Unquote(msg[len(prefix):])
	return name, uerr == nil
}
