package server

import (
	"microsandbox/agent/internal/protocol"
)

// opHandler starts an agent operation from its opening message. It runs on the connection's read loop, so it
// must not block: it parses the message strictly, registers the operation with sess.open and hands the work
// to a goroutine, which ends it with sess.finish (or, for exec, its own terminal message). An error it
// returns is sent on the stream as the operation's terminal message (the operation must then not be open).
type opHandler func(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError

// handlers are the agent's operations, by opening message type: one per operation of the table handled by
// the agent (dispatch_test.go checks both directions).
var handlers = map[string]opHandler{
	protocol.TypeInit:           startInit,
	protocol.TypeNetConfigure:   startNetConfigure,
	protocol.TypeTemplatePark:   startTemplatePark,
	protocol.TypeTemplateResume: startTemplateResume,
	protocol.TypeExecStart:      startExec,
	protocol.TypeStats:          startStats,
	protocol.TypeMetrics:        startMetrics,

	protocol.TypeFsRead:         startFs(parseFsRead),
	protocol.TypeFsWrite:        startFs(parseFsWrite),
	protocol.TypeFsList:         startFs(fsPathOp((*fsStream).list)),
	protocol.TypeFsStat:         startFs(fsPathOp((*fsStream).stat)),
	protocol.TypeFsMkdir:        startFs(parseFsMkdir),
	protocol.TypeFsRemove:       startFs(parseFsRemove),
	protocol.TypeFsCopy:         startFs(fsFromToOp((*fsStream).copy)),
	protocol.TypeFsRename:       startFs(fsFromToOp((*fsStream).rename)),
	protocol.TypeFsArchiveRead:  startFs(fsPathOp((*fsStream).archiveRead)),
	protocol.TypeFsArchiveWrite: startFs(fsPathOp((*fsStream).archiveWrite)),
	protocol.TypeFsSync:         startFs(parseFsSync),
}

// connHandlers are the stream-0 requests (the table's "connection" list).
var connHandlers = map[string]func(c *conn, sess *session, payload []byte){
	protocol.TypePing:     handlePing,
	protocol.TypeShutdown: handleShutdown,
}

// connControl handles stream-0 messages. Stream 0 has no error reply: a bad message is logged and dropped.
func (c *conn) connControl(sess *session, payload []byte) {
	typ, err := messageType(payload)
	if err != nil {
		c.srv.logf("stream 0: malformed control message: %v", err)
		return
	}
	h, ok := connHandlers[typ]
	if !ok {
		c.srv.logf("stream 0: ignoring unknown message %q", typ)
		return
	}
	h(c, sess, payload)
}

func handlePing(c *conn, sess *session, payload []byte) {
	var p protocol.Ping
	if err := unmarshal(payload, &p); err != nil {
		c.srv.logf("stream 0: malformed ping: %v", err)
		return
	}
	go sess.sendMsg(0, protocol.Pong{Type: protocol.TypePong, ID: p.ID})
}

func handleShutdown(c *conn, sess *session, payload []byte) {
	var m protocol.Simple
	if err := unmarshal(payload, &m); err != nil {
		c.srv.logf("stream 0: malformed shutdown: %v", err)
		return
	}
	go c.srv.shutdown(c, sess)
}

// streamControl handles a CONTROL message on a non-zero stream: a follow-up of the operation open on it, or
// the opening message of a new operation.
func (c *conn) streamControl(sess *session, id uint32, payload []byte) {
	typ, typErr := messageType(payload)
	if st := sess.get(id); st != nil {
		switch {
		case typErr != nil:
			c.srv.logf("stream %d: ignoring a malformed control message: %v", id, typErr)
		case !st.op.AllowsFollowUp(typ):
			c.srv.logf("stream %d: ignoring %q, not a follow-up of %s", id, typ, st.op.Open)
		case st.live != nil:
			st.live.control(typ, payload)
		}
		return
	}
	fail := func(e *protocol.OpError) { go sess.sendMsg(id, e.Msg()) }
	if id >= protocol.GuestStreamBase {
		fail(protocol.Errorf(protocol.CodeInvalid, "stream %d is reserved for the guest", id))
		return
	}
	if typErr != nil {
		fail(protocol.FieldErrorf(protocol.CodeInvalid, "type", "malformed control message: %v", typErr))
		return
	}
	op := protocol.OperationFor(typ)
	if op == nil && protocol.IsFollowUp(typ) {
		// A follow-up of an operation that already ended: nothing to do, and nothing may be sent on its stream.
		return
	}
	h := handlers[typ]
	if op == nil || op.Handler != protocol.HandlerAgent || h == nil {
		fail(protocol.Errorf(protocol.CodeNotSup, "unknown operation %q", typ))
		return
	}
	if e := h(c, sess, id, op, payload); e != nil {
		fail(e)
	}
}

func startInit(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError {
	var req protocol.Init
	if err := unmarshal(payload, &req); err != nil {
		return parseError(op.Open, err)
	}
	if e := sess.open(&opStream{id: id, op: op}); e != nil {
		return e
	}
	go c.init(sess, id, &req)
	return nil
}

func startNetConfigure(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError {
	var req protocol.NetConfigure
	if err := unmarshal(payload, &req); err != nil {
		return parseError(op.Open, err)
	}
	if e := sess.open(&opStream{id: id, op: op}); e != nil {
		return e
	}
	go c.netConfigure(sess, id, &req)
	return nil
}

func startExec(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError {
	var req protocol.ExecStart
	if err := unmarshal(payload, &req); err != nil {
		return parseError(op.Open, err)
	}
	// The input queue exists before the read loop goes on, so no STDIN frame can arrive before it.
	x := newExecStream(sess, id, req.Stdin == "pipe")
	if e := sess.open(&opStream{id: id, op: op, live: x}); e != nil {
		return e
	}
	go x.run(&req)
	return nil
}

// startStats answers stats: the operations open in the session, this one excluded.
func startStats(c *conn, sess *session, id uint32, op *protocol.Operation, payload []byte) *protocol.OpError {
	var req protocol.Simple
	if err := unmarshal(payload, &req); err != nil {
		return parseError(op.Open, err)
	}
	if e := sess.open(&opStream{id: id, op: op}); e != nil {
		return e
	}
	n := sess.count() - 1
	go sess.finish(id, protocol.StatsResult{Type: protocol.TypeStatsResult, Streams: n})
	return nil
}
