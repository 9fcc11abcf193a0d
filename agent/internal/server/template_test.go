package server

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// recordingSystem is DevSystem that records template.resume calls.
type recordingSystem struct {
	DevSystem
	resumed chan string
}

func (r recordingSystem) Resume(hostname string, entropy []byte, files *protocol.NetFiles) *protocol.OpError {
	got := hostname + ":" + base64.StdEncoding.EncodeToString(entropy)
	if files != nil {
		got += ":" + files.ResolvConf + ":" + files.Hosts
	}
	r.resumed <- got
	return nil
}

func ptr(s string) *string { return &s }

func TestValidateResume(t *testing.T) {
	ok := base64.StdEncoding.EncodeToString(make([]byte, 64))
	if _, _, err := validateResume(&protocol.TemplateResume{Hostname: "box", Entropy: ok}); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
	for name, req := range map[string]protocol.TemplateResume{
		"entropy":                  {Hostname: "box", Entropy: base64.StdEncoding.EncodeToString(make([]byte, 31))},
		"entropy too long":         {Hostname: "box", Entropy: base64.StdEncoding.EncodeToString(make([]byte, 513))},
		"entropy not base64":       {Hostname: "box", Entropy: "%%%"},
		"hostname":                 {Hostname: "a b", Entropy: ok},
		"hosts without resolvConf": {Hostname: "box", Entropy: ok, Hosts: ptr("127.0.0.1 box\n")},
		"hosts with a NUL":         {Hostname: "box", Entropy: ok, ResolvConf: ptr(""), Hosts: ptr("a\x00")},
		"resolvConf too long":      {Hostname: "box", Entropy: ok, ResolvConf: ptr(strings.Repeat("#", 64*1024+1)), Hosts: ptr("")},
	} {
		_, _, err := validateResume(&req)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if field := strings.Fields(name)[0]; err.Field != field {
			t.Errorf("%s: error names field %q, want %q", name, err.Field, field)
		}
	}
}

func TestTemplateResumeCarriesTheNetFiles(t *testing.T) {
	sys := recordingSystem{resumed: make(chan string, 1)}
	c, _ := newHarness(t, sys)
	entropy := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("e", 32)))
	id := c.open(protocol.TemplateResume{Type: protocol.TypeTemplateResume, Hostname: "box", Entropy: entropy,
		ResolvConf: ptr("nameserver 10.0.2.3\n"), Hosts: ptr("127.0.1.1\tbox\n")})
	if got := c.wait(id, 5*time.Second); got["type"] != protocol.TypeInitDone {
		t.Fatalf("template.resume answered %v", got)
	}
	if got, want := <-sys.resumed, "box:"+entropy+":nameserver 10.0.2.3\n:127.0.1.1\tbox\n"; got != want {
		t.Fatalf("Resume got %q, want %q", got, want)
	}
}

func TestTemplateResumeReachesTheSystem(t *testing.T) {
	sys := recordingSystem{resumed: make(chan string, 1)}
	c, _ := newHarness(t, sys)
	entropy := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("e", 32)))
	id := c.open(protocol.TemplateResume{Type: protocol.TypeTemplateResume, Hostname: "box", Entropy: entropy})
	if got := c.wait(id, 5*time.Second); got["type"] != protocol.TypeInitDone {
		t.Fatalf("template.resume answered %v", got)
	}
	if got := <-sys.resumed; got != "box:"+entropy {
		t.Fatalf("Resume got %q", got)
	}
}

func TestTemplateParkOnlyOnThePort(t *testing.T) {
	c, _ := newHarness(t, DevSystem{})
	id := c.open(protocol.Simple{Type: protocol.TypeTemplatePark})
	expectError(t, c.wait(id, 5*time.Second), "ENOTSUP", "template.park")
}
