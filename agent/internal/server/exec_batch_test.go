package server

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// writeLog is the server's end of a test connection, recording every write it makes.
type writeLog struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

// Write implements io.Writer.
func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, append([]byte(nil), p...))
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// streamWrites returns, for each write that carried frames of stream id, those frames' kinds (a CONTROL
// frame as its message type).
func (w *writeLog) streamWrites(t *testing.T, id uint32) [][]string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out [][]string
	for _, buf := range w.writes {
		d := protocol.NewDecoder(bytes.NewReader(buf))
		var kinds []string
		for {
			f, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("a write that is not whole frames: %v", err)
			}
			if f.Stream != id {
				continue
			}
			if f.Kind == protocol.KindControl {
				typ, _ := messageType(f.Payload)
				kinds = append(kinds, typ)
			} else {
				kinds = append(kinds, f.Kind.String())
			}
		}
		if len(kinds) > 0 {
			out = append(out, kinds)
		}
	}
	return out
}

// A command that exits at once crosses the transport in one write: exec.started, the EOFs and exec.exited.
// (exec.started waits up to startedHold for company; a busy host may take longer to run `true`, so one of a
// few runs must do it.)
func TestShortExecIsOneWrite(t *testing.T) {
	log := &writeLog{}
	c, _ := newHarnessOn(t, nil, func(nc net.Conn) io.ReadWriteCloser { log.Conn = nc; return log })
	var last [][]string
	for i := 0; i < 5; i++ {
		s := c.exec(protocol.ExecStart{Argv: []string{"true"}})
		expectExit(t, c.wait(s, 10*time.Second), 0, 0, false)
		last = log.streamWrites(t, s.id)
		first := last[0]
		if first[0] != protocol.TypeExecStarted {
			t.Fatalf("the stream's first frame is %s, not exec.started: %v", first[0], last)
		}
		if len(last) == 1 {
			want := []string{protocol.TypeExecStarted, "STDOUT", "STDERR", protocol.TypeExecExited}
			if len(first) != len(want) {
				t.Fatalf("one write of %v, want %v", first, want)
			}
			for j := range want {
				if first[j] != want[j] {
					t.Fatalf("one write of %v, want %v", first, want)
				}
			}
			return
		}
	}
	t.Fatalf("5 runs of `true`, none in one write; the last: %v", last)
}

// A silent command still gets its exec.started soon: it is held for startedHold at most.
func TestStartedOfSilentCommand(t *testing.T) {
	c, _ := newHarness(t, nil)
	begin := time.Now()
	s := c.exec(sh("sleep 5"))
	c.started(s)
	if waited := time.Since(begin); waited > 2*time.Second {
		t.Fatalf("exec.started came after %v", waited)
	}
	select {
	case <-s.done:
		t.Fatalf("the stream ended: %v", s.final)
	default:
	}
	c.followUp(s, protocol.ExecSignal{Type: protocol.TypeExecSignal, Signal: 9})
	expectExit(t, c.wait(s, 10*time.Second), 137, 9, false)
}
