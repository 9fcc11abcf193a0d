package server

import (
	"strings"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

// TestMetrics: the agent answers metrics with the raw /proc counters (the test host's own /proc here), each
// bounded.
func TestMetrics(t *testing.T) {
	c, _ := newHarness(t, nil)
	m := c.wait(c.open(protocol.Simple{Type: protocol.TypeMetrics}), 5*time.Second)
	if m["type"] != protocol.TypeMetricsRes {
		t.Fatalf("metrics: %v", m)
	}
	for key, prefix := range map[string]string{"stat": "cpu ", "meminfo": "MemTotal:", "netDev": "Inter-"} {
		text, ok := m[key].(string)
		if !ok || !strings.HasPrefix(text, prefix) || len(text) > protocol.MaxProcText {
			t.Errorf("metrics.%s: %q", key, text)
		}
	}
	if _, ok := m["diskstats"].(string); !ok {
		t.Errorf("metrics.diskstats missing: %v", m)
	}
}
