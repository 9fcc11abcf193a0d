package server

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"microsandbox/agent/internal/protocol"
)

func TestSyncReaderSkipsToHello(t *testing.T) {
	hello := protocol.EncodeFrame(0, protocol.KindHello, protocol.Marshal(protocol.HostHello{Type: "hello", MinVersion: 1, MaxVersion: 1}))
	ping := protocol.EncodeFrame(0, protocol.KindControl, []byte(`{"type":"ping","id":1}`))
	// The tail of an earlier connection: part of a STDIN frame, then whole frames.
	junk := append(protocol.EncodeFrame(3, protocol.KindStdin, bytes.Repeat([]byte{0}, 5000))[77:],
		protocol.EncodeFrame(5, protocol.KindControl, []byte(`{"type":"exec.signal","signal":9}`))...)
	for _, tc := range []struct {
		name string
		in   []byte
		skip int64
	}{
		{"clean", append(append([]byte{}, hello...), ping...), 0},
		{"junk first", append(append(append([]byte{}, junk...), hello...), ping...), int64(len(junk))},
		{"short junk", append(append([]byte{1, 2}, hello...), ping...), 2},
	} {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(tc.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			s := &syncReader{r: r}
			d := protocol.NewDecoder(s)
			f1, err1 := d.Next()
			f2, err2 := d.Next()
			_, err3 := d.Next()
			if err1 != nil || f1.Kind != protocol.KindHello || err2 != nil || f2.Kind != protocol.KindControl || err3 != io.EOF {
				t.Errorf("%s (one byte %v): %v %v %v %v %v", tc.name, oneByte, f1.Kind, err1, f2.Kind, err2, err3)
			}
			if s.skipped != tc.skip {
				t.Errorf("%s (one byte %v): skipped %d, want %d", tc.name, oneByte, s.skipped, tc.skip)
			}
		}
	}
	// No HELLO at all: everything is skipped and the end of input is a clean EOF.
	s := &syncReader{r: bytes.NewReader(junk)}
	if _, err := protocol.NewDecoder(s).Next(); err != io.EOF {
		t.Fatalf("junk only: %v", err)
	}
}

func TestHostReaderRetriesUntilData(t *testing.T) {
	// Reads return EOF until the host connects; after data, EOF is a disconnect.
	r := &hostReader{f: &scriptedReader{steps: []string{"", "", "ab", "", "late"}}}
	buf := make([]byte, 8)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "ab" {
		t.Fatalf("first read: %q %v", buf[:n], err)
	}
	if _, err := r.Read(buf); err != io.EOF {
		t.Fatalf("after data: %v, want EOF", err)
	}
}

// scriptedReader returns its steps one per Read; "" is an EOF.
type scriptedReader struct{ steps []string }

func (s *scriptedReader) Read(p []byte) (int, error) {
	if len(s.steps) == 0 {
		return 0, io.EOF
	}
	step := s.steps[0]
	s.steps = s.steps[1:]
	if step == "" {
		return 0, io.EOF
	}
	return copy(p, step), nil
}

func TestHelloMarkerMatchesMessages(t *testing.T) {
	for _, msg := range []any{protocol.HostHello{Type: "hello"}, protocol.AgentHello{Type: "hello"}} {
		frame := protocol.EncodeFrame(0, protocol.KindHello, protocol.Marshal(msg))
		if !bytes.HasPrefix(frame[4:], protocol.HelloMarker) {
			t.Errorf("%T frame %q does not carry the marker", msg, frame)
		}
	}
}
