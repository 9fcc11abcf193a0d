package server

import (
	"encoding/base64"

	"microsandbox/agent/internal/protocol"
)

// Entropy bounds of template.resume (decoded bytes).
const (
	minResumeEntropy = 32
	maxResumeEntropy = 512
)

// startTemplatePark parks the connection before the host snapshots the VM for a template: the read loop is
// stopped first, and only then is init.done sent (by ServePort, finishPark). A host that has the reply knows
// the agent reads nothing more of this connection: after a restore, the next host's HELLO is read by a fresh
// connection that skips everything before it.
func startTemplatePark(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError {
	var req protocol.Simple
	if err := unmarshal(payload, &req); err != nil {
		return parseError(op.Open, err)
	}
	c.mu.Lock()
	cancel := c.cancelRead
	c.mu.Unlock()
	if cancel == nil {
		return protocol.Errorf(protocol.CodeNotSup, "template.park only on the virtio port")
	}
	if e := sess.open(&opStream{id: id, op: op}); e != nil {
		return e
	}
	c.mu.Lock()
	c.park = &parkRequest{sess: sess, id: id}
	c.mu.Unlock()
	if err := cancel(); err != nil {
		c.mu.Lock()
		c.park = nil
		c.mu.Unlock()
		sess.finish(id, protocol.Errorf(protocol.CodeIO, "cannot stop reading the port: %v", err).Msg())
	}
	return nil
}

// parkRequest is a template.park waiting for the read loop to end.
type parkRequest struct {
	sess *session
	id   uint32
}

// finishPark answers a pending template.park once the read loop has ended; it reports whether there was one.
func (c *conn) finishPark() bool {
	c.mu.Lock()
	p := c.park
	c.park = nil
	c.mu.Unlock()
	if p == nil {
		return false
	}
	p.sess.finish(p.id, protocol.Simple{Type: protocol.TypeInitDone})
	return true
}

func startTemplateResume(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError {
	var req protocol.TemplateResume
	if err := unmarshal(payload, &req); err != nil {
		return parseError(op.Open, err)
	}
	entropy, files, e := validateResume(&req)
	if e != nil {
		return e
	}
	if e := sess.open(&opStream{id: id, op: op}); e != nil {
		return e
	}
	go func() {
		if err := c.srv.opts.System.Resume(req.Hostname, entropy, files); err != nil {
			sess.finish(id, err.Msg())
			return
		}
		sess.finish(id, protocol.Simple{Type: protocol.TypeInitDone})
	}()
	return nil
}

// validateResume checks a template.resume request and returns its decoded entropy and its net files (nil when
// it has none).
func validateResume(req *protocol.TemplateResume) ([]byte, *protocol.NetFiles, *protocol.OpError) {
	if e := validateHostname(req.Hostname); e != nil {
		return nil, nil, e
	}
	entropy, err := base64.StdEncoding.DecodeString(req.Entropy)
	if err != nil || len(entropy) < minResumeEntropy || len(entropy) > maxResumeEntropy {
		return nil, nil, protocol.FieldErrorf(protocol.CodeInvalid, "entropy",
			"entropy: must be base64 of %d to %d bytes", minResumeEntropy, maxResumeEntropy)
	}
	if (req.ResolvConf == nil) != (req.Hosts == nil) {
		return nil, nil, protocol.FieldErrorf(protocol.CodeInvalid, "hosts", "resolvConf and hosts: give both or neither")
	}
	if req.ResolvConf == nil {
		return entropy, nil, nil
	}
	files := &protocol.NetFiles{ResolvConf: *req.ResolvConf, Hosts: *req.Hosts}
	if e := ValidateNetConfigure(&protocol.NetConfigure{ResolvConf: files.ResolvConf, Hosts: files.Hosts}); e != nil {
		return nil, nil, e
	}
	return entropy, files, nil
}
