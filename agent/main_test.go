package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The HELLO lists exactly the agentFeatures of the operation table.
func TestFeaturesMatchOperationTable(t *testing.T) {
	data, err := os.ReadFile("../protocol/operations.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		AgentFeatures []string `json:"agentFeatures"`
	}
	if err := json.Unmarshal(data, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.AgentFeatures) == 0 || !reflect.DeepEqual(features, table.AgentFeatures) {
		t.Fatalf("HELLO features %v, operations.json agentFeatures %v", features, table.AgentFeatures)
	}
}

// The agent binary does not link the net package (its init costs every boot; see README.md).
func TestNoNetPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net" || strings.HasSuffix(dep, "/dnsmessage") {
			t.Fatalf("the agent links %s", dep)
		}
	}
}

// Development mode's listener accepts connections and stops accepting once closed.
func TestUnixListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := listenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := net.Dial("unix", path)
		if err == nil {
			_, _ = c.Write([]byte("x"))
			c.Close()
		}
	}()
	f, err := ln.accept()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if n, err := f.Read(buf); n != 1 || buf[0] != 'x' {
		t.Fatalf("read %d %q: %v", n, buf, err)
	}
	f.Close()
	done := make(chan error, 1)
	go func() {
		_, err := ln.accept()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let accept block
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("accept after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("accept did not return after Close")
	}
}
