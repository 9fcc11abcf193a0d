package protocol

import (
	"bytes"
	"testing"
)

func TestAssemblerJoinsParts(t *testing.T) {
	var a Assembler
	msg := bytes.Repeat([]byte("x"), 2*MaxPayload+10)
	if f, ok, err := a.Accept(Frame{Stream: 1, Kind: KindControl, Payload: []byte(`{}`)}); !ok || err != nil ||
		string(f.Payload) != `{}` {
		t.Fatalf("plain control: %+v %v %v", f, ok, err)
	}
	feed := func(f Frame) (Frame, bool) {
		t.Helper()
		out, ok, err := a.Accept(f)
		if err != nil {
			t.Fatal(err)
		}
		return out, ok
	}
	if _, ok := feed(Frame{Stream: 3, Kind: KindContinue, Payload: msg[:MaxPayload]}); ok {
		t.Fatal("a CONTINUE part was passed on")
	}
	// Other streams are unaffected while stream 3 has a message in progress.
	if f, ok := feed(Frame{Stream: 5, Kind: KindStdin, Payload: []byte("in")}); !ok || f.Stream != 5 {
		t.Fatal("a frame of another stream was held")
	}
	feed(Frame{Stream: 3, Kind: KindContinue, Payload: msg[MaxPayload : 2*MaxPayload]})
	if a.Pending() != 2*MaxPayload {
		t.Fatalf("pending %d", a.Pending())
	}
	f, ok := feed(Frame{Stream: 3, Kind: KindControl, Payload: msg[2*MaxPayload:]})
	if !ok || f.Kind != KindControl || !bytes.Equal(f.Payload, msg) || a.Pending() != 0 {
		t.Fatalf("assembled %d bytes, ok %v, pending %d", len(f.Payload), ok, a.Pending())
	}
	// An empty CONTINUE part is legal.
	feed(Frame{Stream: 7, Kind: KindContinue})
	if f, ok := feed(Frame{Stream: 7, Kind: KindControl, Payload: []byte(`{}`)}); !ok || string(f.Payload) != `{}` {
		t.Fatalf("after an empty part: %q", f.Payload)
	}
}

func TestAssemblerViolations(t *testing.T) {
	part := make([]byte, MaxPayload)
	for _, tc := range []struct {
		name   string
		frames []Frame
		class  string
	}{
		{"stdin inside a message", []Frame{{Stream: 1, Kind: KindContinue, Payload: part[:10]},
			{Stream: 1, Kind: KindStdin, Payload: []byte("x")}}, ErrTruncated},
		{"window inside a message", []Frame{{Stream: 1, Kind: KindContinue, Payload: part[:10]},
			{Stream: 1, Kind: KindWindow, Payload: WindowPayload(1)}}, ErrTruncated},
		{"continue parts over the limit", func() []Frame {
			var fs []Frame
			for i := 0; i <= MaxControlMessage/MaxPayload; i++ {
				fs = append(fs, Frame{Stream: 1, Kind: KindContinue, Payload: part})
			}
			return fs
		}(), ErrOversize},
		{"final part over the limit", func() []Frame {
			var fs []Frame
			for i := 0; i < MaxControlMessage/MaxPayload; i++ {
				fs = append(fs, Frame{Stream: 1, Kind: KindContinue, Payload: part})
			}
			return append(fs, Frame{Stream: 1, Kind: KindControl, Payload: []byte("}")})
		}(), ErrOversize},
		{"too much pending in all", func() []Frame {
			var fs []Frame
			for s := uint32(1); s <= MaxPendingControl/MaxControlMessage+1; s++ {
				for i := 0; i < MaxControlMessage/MaxPayload; i++ {
					fs = append(fs, Frame{Stream: s, Kind: KindContinue, Payload: part})
				}
			}
			return fs
		}(), ErrOversize},
	} {
		var a Assembler
		var err error
		for _, f := range tc.frames {
			if _, _, err = a.Accept(f); err != nil {
				break
			}
		}
		if ClassOf(err) != tc.class {
			t.Errorf("%s: %v, want class %q", tc.name, err, tc.class)
		}
	}
	// Exactly MaxControlMessage is accepted.
	var a Assembler
	for i := 0; i < MaxControlMessage/MaxPayload-1; i++ {
		if _, _, err := a.Accept(Frame{Stream: 1, Kind: KindContinue, Payload: part}); err != nil {
			t.Fatal(err)
		}
	}
	if f, ok, err := a.Accept(Frame{Stream: 1, Kind: KindControl, Payload: part}); err != nil || !ok ||
		len(f.Payload) != MaxControlMessage {
		t.Fatalf("a maximal message: %v %v", ok, err)
	}
}

func TestAssemblerHelloResets(t *testing.T) {
	var a Assembler
	_, _, _ = a.Accept(Frame{Stream: 1, Kind: KindContinue, Payload: []byte("old")})
	if _, ok, err := a.Accept(Frame{Kind: KindHello, Payload: []byte(`{"type":"hello"}`)}); !ok || err != nil {
		t.Fatalf("hello: %v %v", ok, err)
	}
	f, ok, err := a.Accept(Frame{Stream: 1, Kind: KindControl, Payload: []byte(`{}`)})
	if !ok || err != nil || string(f.Payload) != `{}` || a.Pending() != 0 {
		t.Fatalf("after hello: %q %v %v", f.Payload, ok, err)
	}
}

func TestContinueKindDecodes(t *testing.T) {
	f, err := NewDecoder(bytes.NewReader(EncodeFrame(9, KindContinue, []byte("part")))).Next()
	if err != nil || f.Kind != KindContinue || string(f.Payload) != "part" || KindContinue.String() != "CONTINUE" {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := NewDecoder(bytes.NewReader(EncodeFrame(9, KindContinue+1, nil))).Next(); ClassOf(err) != ErrUnknownKind {
		t.Fatalf("kind 0x08: %v", err)
	}
}
