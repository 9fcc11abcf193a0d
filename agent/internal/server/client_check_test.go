package server

import (
	"time"

	"microsandbox/agent/internal/protocol"
)

// control records a CONTROL message of a stream (c.mu held) and checks the terminal-message rules.
func (c *testClient) control(s *cstream, msg map[string]any) {
	s.msgs = append(s.msgs, msg)
	switch msg["type"] {
	case protocol.TypeExecStarted:
		pid, _ := msg["pid"].(float64)
		s.started <- int(pid)
		return
	case protocol.TypeExecExited:
		if !s.outEOF || !s.errEOF {
			c.t.Errorf("stream %d: exec.exited before both output channels ended", s.id)
		}
	case protocol.TypeError, protocol.TypeInitDone, protocol.TypeStatsResult, protocol.TypeFsDone,
		protocol.TypeFsStatResult, protocol.TypeMetricsRes:
	default:
		c.t.Errorf("stream %d: unexpected message %v", s.id, msg)
		return
	}
	s.final = msg
	s.creditCond.Broadcast()
	close(s.done)
}

// data records output (c.mu held), checks the window, and returns credit like a host does: in batches of
// half a window, optionally after creditDelay.
func (c *testClient) data(s *cstream, f protocol.Frame) {
	eof := &s.outEOF
	buf := &s.stdout
	if f.Kind == protocol.KindStderr {
		eof, buf = &s.errEOF, &s.stderr
	}
	if *eof {
		c.t.Errorf("stream %d: %s data after its EOF", s.id, f.Kind)
	}
	if len(f.Payload) == 0 {
		*eof = true
		return
	}
	if len(f.Payload) > protocol.MaxDataChunk {
		c.t.Errorf("stream %d: %d-byte data frame exceeds MAX_DATA_CHUNK", s.id, len(f.Payload))
	}
	s.outstanding += int64(len(f.Payload))
	if s.outstanding > s.maxOut {
		s.maxOut = s.outstanding
	}
	if s.outstanding > protocol.InitialWindow {
		c.t.Errorf("stream %d: agent exceeded its window: %d bytes outstanding", s.id, s.outstanding)
	}
	buf.Write(f.Payload)
	s.unacked += int64(len(f.Payload))
	if c.noCredit || s.unacked < protocol.InitialWindow/2 {
		return
	}
	grant := s.unacked
	s.unacked = 0
	// Credit counts as returned just before the WINDOW frame leaves: the agent cannot legitimately use it
	// earlier, and our accounting is never behind it.
	go func() {
		time.Sleep(c.creditDelay)
		c.mu.Lock()
		s.outstanding -= grant
		c.mu.Unlock()
		c.send(s.id, protocol.KindWindow, protocol.WindowPayload(uint32(grant)))
	}()
}
