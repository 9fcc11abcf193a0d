package server

import (
	"io"
	"os"

	"microsandbox/agent/internal/protocol"
)

// startMetrics answers metrics (supervisor only, never open to clients): the raw text of the guest's /proc
// counters. The agent does not interpret them; the host parses them strictly, as it does everything the guest
// sends.
func startMetrics(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError {
	var req protocol.Simple
	if err := unmarshal(payload, &req); err != nil {
		return parseError(op.Open, err)
	}
	if e := sess.open(&opStream{id: id, op: op}); e != nil {
		return e
	}
	go sess.finish(id, protocol.MetricsResult{
		Type:      protocol.TypeMetricsRes,
		Stat:      readProcText(c, "/proc/stat"),
		Meminfo:   readProcText(c, "/proc/meminfo"),
		Diskstats: readProcText(c, "/proc/diskstats"),
		NetDev:    readProcText(c, "/proc/net/dev"),
	})
	return nil
}

// readProcText reads at most protocol.MaxProcText bytes of a /proc file. A file that cannot be read is logged
// and sent empty (the host counts missing counters as zero).
func readProcText(c *conn, path string) string {
	f, err := os.Open(path)
	if err != nil {
		c.srv.logf("metrics: %v", err)
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, protocol.MaxProcText))
	if err != nil {
		c.srv.logf("metrics: %s: %v", path, err)
	}
	return string(b)
}
