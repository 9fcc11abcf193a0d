package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// vectors mirrors protocol/vectors.json.
type vectors struct {
	Version   int `json:"version"`
	Constants struct {
		MaxPayload    int            `json:"maxPayload"`
		HeaderSize    int            `json:"headerSize"`
		InitialWindow int            `json:"initialWindow"`
		MaxDataChunk  int            `json:"maxDataChunk"`
		MaxControlMsg int            `json:"maxControlMessage"`
		HelloMarker   string         `json:"helloMarkerHex"`
		Kinds         map[string]int `json:"kinds"`
	} `json:"constants"`
	Valid []struct {
		Name       string `json:"name"`
		Stream     uint32 `json:"stream"`
		Kind       uint8  `json:"kind"`
		PayloadHex string `json:"payloadHex"`
		Hex        string `json:"hex"`
	} `json:"valid"`
	Invalid []struct {
		Name  string `json:"name"`
		Hex   string `json:"hex"`
		Error string `json:"error"`
	} `json:"invalid"`
	Negotiation []struct {
		Host   [2]uint32 `json:"host"`
		Agent  [2]uint32 `json:"agent"`
		Chosen uint32    `json:"chosen"`
	} `json:"negotiation"`
}

func loadVectors(t *testing.T) *vectors {
	t.Helper()
	data, err := os.ReadFile("../../../protocol/vectors.json")
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if len(v.Valid) == 0 || len(v.Invalid) == 0 || len(v.Negotiation) == 0 {
		t.Fatal("vectors.json has empty sections")
	}
	return &v
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestConstantsMatchVectors(t *testing.T) {
	v := loadVectors(t)
	c := v.Constants
	if c.MaxPayload != MaxPayload || c.HeaderSize != HeaderSize || c.InitialWindow != InitialWindow ||
		c.MaxDataChunk != MaxDataChunk || c.MaxControlMsg != MaxControlMessage {
		t.Fatalf("constants differ: %+v", c)
	}
	if !bytes.Equal(mustHex(t, c.HelloMarker), HelloMarker) {
		t.Fatalf("hello marker differs: %s", c.HelloMarker)
	}
	for _, vec := range v.Valid {
		if Kind(vec.Kind) == KindHello && !bytes.HasPrefix(mustHex(t, vec.Hex)[4:], HelloMarker) {
			t.Errorf("%s: HELLO vector without the marker", vec.Name)
		}
	}
	want := map[string]Kind{"HELLO": KindHello, "CONTROL": KindControl, "STDIN": KindStdin,
		"STDOUT": KindStdout, "STDERR": KindStderr, "WINDOW": KindWindow, "CONTINUE": KindContinue}
	if len(c.Kinds) != len(want) {
		t.Fatalf("kinds differ: %v", c.Kinds)
	}
	for name, k := range want {
		if c.Kinds[name] != int(k) || k.String() != name {
			t.Errorf("kind %s: vectors %d, agent %d (%s)", name, c.Kinds[name], k, k)
		}
	}
}

func TestNegotiationVectors(t *testing.T) {
	for _, n := range loadVectors(t).Negotiation {
		got := Negotiate(n.Host[0], n.Host[1], n.Agent[0], n.Agent[1])
		if got != n.Chosen {
			t.Errorf("host %v agent %v: got %d, want %d", n.Host, n.Agent, got, n.Chosen)
		}
		if rev := Negotiate(n.Agent[0], n.Agent[1], n.Host[0], n.Host[1]); rev != n.Chosen {
			t.Errorf("negotiation not symmetric for %v/%v", n.Host, n.Agent)
		}
	}
}
