package protocol

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// operationsFile mirrors protocol/operations.json.
type operationsFile struct {
	Version              int `json:"version"`
	MaxControlMessage    int `json:"maxControlMessage"`
	MaxStreamsPerSession int `json:"maxStreamsPerSession"`
	Messages             map[string]struct {
		From   string   `json:"from"`
		Fields []string `json:"fields"`
	} `json:"messages"`
	Connection []struct {
		Request string `json:"request"`
		Reply   string `json:"reply"`
		Handler string `json:"handler"`
	} `json:"connection"`
	Operations []struct {
		Open      string  `json:"open"`
		Handler   string  `json:"handler"`
		Feature   *string `json:"feature"`
		Clients   bool    `json:"clients"`
		FollowUps []struct {
			Type    string `json:"type"`
			Feature string `json:"feature"`
		} `json:"followUps"`
		Replies  []string `json:"replies"`
		Terminal []string `json:"terminal"`
		Input    bool     `json:"input"`
		Output   bool     `json:"output"`
	} `json:"operations"`
	AgentFeatures []string `json:"agentFeatures"`
}

// loadOperations reads protocol/operations.json strictly (a key this mirror does not know fails, so a
// new column of the table cannot go unchecked).
func loadOperations(t *testing.T) *operationsFile {
	t.Helper()
	data, err := os.ReadFile("../../../protocol/operations.json")
	if err != nil {
		t.Fatalf("read operations: %v", err)
	}
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.DisallowUnknownFields()
	var o operationsFile
	if err := d.Decode(&o); err != nil {
		t.Fatalf("parse operations: %v", err)
	}
	if len(o.Messages) == 0 || len(o.Operations) == 0 || len(o.AgentFeatures) == 0 {
		t.Fatal("operations.json has empty sections")
	}
	return &o
}

func TestOperationTableMatchesJSON(t *testing.T) {
	o := loadOperations(t)
	if o.Version != MaxVersion || o.MaxControlMessage != MaxControlMessage ||
		o.MaxStreamsPerSession != MaxStreamsPerSession {
		t.Errorf("limits differ: version %d, maxControlMessage %d, maxStreamsPerSession %d", o.Version,
			o.MaxControlMessage, o.MaxStreamsPerSession)
	}

	// Messages.
	want := map[string]MessageSpec{}
	for name, m := range o.Messages {
		fields := m.Fields
		if fields == nil {
			fields = []string{}
		}
		want[name] = MessageSpec{From: m.From, Fields: fields}
	}
	if !reflect.DeepEqual(Messages, want) {
		t.Errorf("messages differ:\n Go:   %v\n JSON: %v", Messages, want)
	}

	// Connection requests.
	var conn []ConnRequest
	for _, r := range o.Connection {
		conn = append(conn, ConnRequest{Request: r.Request, Reply: r.Reply, Handler: r.Handler})
	}
	if !reflect.DeepEqual(Connection, conn) {
		t.Errorf("connection requests differ:\n Go:   %v\n JSON: %v", Connection, conn)
	}

	// Operations, in order.
	var ops []Operation
	for _, r := range o.Operations {
		op := Operation{Open: r.Open, Handler: r.Handler, Clients: r.Clients, FollowUps: []FollowUp{},
			Replies: r.Replies, Terminal: r.Terminal, Input: r.Input, Output: r.Output}
		if r.Feature != nil {
			op.Feature = *r.Feature
		}
		for _, f := range r.FollowUps {
			op.FollowUps = append(op.FollowUps, FollowUp{Type: f.Type, Feature: f.Feature})
		}
		ops = append(ops, op)
	}
	if len(ops) != len(Operations) {
		t.Fatalf("%d operations in Go, %d in JSON", len(Operations), len(ops))
	}
	for i := range ops {
		if !reflect.DeepEqual(Operations[i], ops[i]) {
			t.Errorf("operation %d differs:\n Go:   %+v\n JSON: %+v", i, Operations[i], ops[i])
		}
	}

	if !reflect.DeepEqual(AgentFeatures, o.AgentFeatures) {
		t.Errorf("agent features differ: Go %v, JSON %v", AgentFeatures, o.AgentFeatures)
	}
}

// The table is consistent: every message an operation names exists with the right sender, and every
// operation the agent handles is gated by a feature it lists (or none).
func TestOperationTableConsistent(t *testing.T) {
	features := map[string]bool{}
	for _, f := range AgentFeatures {
		features[f] = true
	}
	from := func(typ, sender string) {
		t.Helper()
		if m, ok := Messages[typ]; !ok || m.From != sender {
			t.Errorf("message %q: %+v, want one from %s", typ, m, sender)
		}
	}
	for _, r := range Connection {
		from(r.Request, FromHost)
		from(r.Reply, FromAgent)
	}
	for _, op := range Operations {
		from(op.Open, FromHost)
		for _, f := range op.FollowUps {
			from(f.Type, FromHost)
			if op.Handler == HandlerAgent && !features[f.Feature] {
				t.Errorf("%s: follow-up %s gated by %q, which the agent does not list", op.Open, f.Type, f.Feature)
			}
		}
		for _, r := range append(append([]string{}, op.Replies...), op.Terminal...) {
			from(r, FromAgent)
		}
		if op.Handler == HandlerAgent && op.Feature != "" && !features[op.Feature] {
			t.Errorf("%s: gated by %q, which the agent does not list", op.Open, op.Feature)
		}
		if got := OperationFor(op.Open); got == nil || got.Open != op.Open {
			t.Errorf("OperationFor(%q) = %v", op.Open, got)
		}
	}
	if OperationFor(TypeExecSignal) != nil || !IsFollowUp(TypeExecSignal) || IsFollowUp(TypeExecStart) {
		t.Error("follow-ups are not openings")
	}
}

// jsonFields returns the json names of a struct's fields, "type" excluded.
func jsonFields(t *testing.T, v any) []string {
	t.Helper()
	typ := reflect.TypeOf(v)
	fields := []string{}
	sawType := false
	for i := 0; i < typ.NumField(); i++ {
		name := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
		switch name {
		case "", "-":
			t.Errorf("%s.%s has no json name", typ.Name(), typ.Field(i).Name)
		case "type":
			sawType = true
		default:
			fields = append(fields, name)
		}
	}
	if !sawType {
		t.Errorf("%s has no type field", typ.Name())
	}
	sort.Strings(fields)
	return fields
}

// Every message struct carries exactly the fields its row lists: a field added on one side only fails here.
func TestMessageStructsMatchTable(t *testing.T) {
	for typ, m := range loadOperations(t).Messages {
		v, ok := MessageStructs[typ]
		if !ok {
			if !strings.HasPrefix(typ, "sup.") {
				t.Errorf("message %q has no Go struct", typ)
			}
			continue
		}
		want := append([]string{}, m.Fields...)
		sort.Strings(want)
		if got := jsonFields(t, v); !reflect.DeepEqual(got, want) {
			t.Errorf("message %q: struct %T has fields %v, the table %v", typ, v, got, want)
		}
	}
	for typ := range MessageStructs {
		if _, ok := Messages[typ]; !ok {
			t.Errorf("struct for %q, which is not in the table", typ)
		}
	}
}
