package protocol

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"testing/iotest"
)

func TestValidVectorsRoundTrip(t *testing.T) {
	v := loadVectors(t)
	var all []byte
	for _, vec := range v.Valid {
		wire := mustHex(t, vec.Hex)
		payload := mustHex(t, vec.PayloadHex)
		if enc := EncodeFrame(vec.Stream, Kind(vec.Kind), payload); !bytes.Equal(enc, wire) {
			t.Errorf("%s: encode = %x, want %x", vec.Name, enc, wire)
		}
		f, err := NewDecoder(bytes.NewReader(wire)).Next()
		if err != nil {
			t.Fatalf("%s: decode: %v", vec.Name, err)
		}
		if f.Stream != vec.Stream || f.Kind != Kind(vec.Kind) || !bytes.Equal(f.Payload, payload) {
			t.Errorf("%s: decoded %+v", vec.Name, f)
		}
		if !bytes.Equal(EncodeFrame(f.Stream, f.Kind, f.Payload), wire) {
			t.Errorf("%s: re-encode differs", vec.Name)
		}
		all = append(all, wire...)
	}
	// All vectors back to back, delivered one byte at a time, decode to the same sequence then a clean EOF.
	d := NewDecoder(iotest.OneByteReader(bytes.NewReader(all)))
	for _, vec := range v.Valid {
		f, err := d.Next()
		if err != nil || !bytes.Equal(EncodeFrame(f.Stream, f.Kind, f.Payload), mustHex(t, vec.Hex)) {
			t.Fatalf("%s in sequence: %+v %v", vec.Name, f, err)
		}
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestInvalidVectors(t *testing.T) {
	for _, vec := range loadVectors(t).Invalid {
		d := NewDecoder(bytes.NewReader(mustHex(t, vec.Hex)))
		var err error
		for err == nil {
			_, err = d.Next()
		}
		if got := ClassOf(err); got != vec.Error {
			t.Errorf("%s: got %v (class %q), want class %q", vec.Name, err, got, vec.Error)
		}
	}
}

func TestMaxPayloadAccepted(t *testing.T) {
	payload := bytes.Repeat([]byte{0xab}, MaxPayload)
	f, err := NewDecoder(bytes.NewReader(EncodeFrame(3, KindStdin, payload))).Next()
	if err != nil || len(f.Payload) != MaxPayload {
		t.Fatalf("max payload frame: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("encoding an oversize payload did not panic")
		}
	}()
	EncodeFrame(1, KindStdout, make([]byte, MaxPayload+1))
}

func TestWindowPayload(t *testing.T) {
	f := Frame{Stream: 1, Kind: KindWindow, Payload: WindowPayload(65536)}
	if Validate(f) != nil || f.WindowCredit() != 65536 {
		t.Fatalf("window frame %x", f.Payload)
	}
}

// The agent's own messages must encode exactly as the vectors show.
func TestAgentMessagesMatchVectors(t *testing.T) {
	want := map[string]any{
		"agent hello": AgentHello{Type: TypeHello, MinVersion: 1, MaxVersion: 1, Version: 1,
			AgentVersion: "0.1.0", Features: []string{"exec"}, UptimeMs: 812},
		"exec exited by signal": ExecExited{Type: TypeExecExited, Code: 137, Signal: 9, TimedOut: true},
		"error":                 ErrorMsg{Type: TypeError, Code: CodeNotFound, Message: "command not found: nope"},
	}
	for _, vec := range loadVectors(t).Valid {
		msg, ok := want[vec.Name]
		if !ok {
			continue
		}
		delete(want, vec.Name)
		if got := Marshal(msg); !bytes.Equal(got, mustHex(t, vec.PayloadHex)) {
			t.Errorf("%s: marshal = %s", vec.Name, got)
		}
	}
	if len(want) != 0 {
		t.Errorf("vectors missing: %v", want)
	}
}

// strictUnmarshal decodes like the agent does: a field the struct lacks is an error.
func strictUnmarshal(payload []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func TestHostMessagesParse(t *testing.T) {
	seen := 0
	for _, vec := range loadVectors(t).Valid {
		payload := mustHex(t, vec.PayloadHex)
		switch vec.Name {
		case "host hello":
			seen++
			var h HostHello
			if err := strictUnmarshal(payload, &h); err != nil || h.MinVersion != 1 || h.MaxVersion != 1 ||
				h.TimeMs != 1700000000000 {
				t.Errorf("host hello: %+v %v", h, err)
			}
		case "exec start":
			seen++
			var s ExecStart
			if err := strictUnmarshal(payload, &s); err != nil || len(s.Argv) != 3 || s.Env["K"] != "V" ||
				s.Cwd != "/" || s.User != "root" || s.Stdin != "null" || s.Tty != nil {
				t.Errorf("exec start: %+v %v", s, err)
			}
		case "net configure":
			seen++
			var n NetConfigure
			if err := strictUnmarshal(payload, &n); err != nil || n.Type != TypeNetConfigure {
				t.Errorf("net configure: %+v %v", n, err)
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d of the 3 host message vectors found", seen)
	}
}
