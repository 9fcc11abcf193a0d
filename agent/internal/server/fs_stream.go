package server

import (
	"os"
	"runtime"
	"sync/atomic"

	"microsandbox/agent/internal/protocol"
)

// fsStream is one running file operation. Its work runs on a goroutine of its own, locked to its OS thread
// when it switches the filesystem identity (fs_identity.go); output goes out under the stream's credit and
// input comes from its queue (stream.go). stream.cancel and the session's end stop it: waits for credit or
// input end at once, and the work checks stopped() between steps.
type fsStream struct {
	*dataStream
	op   *protocol.Operation
	cred fsCred // who the operation runs as, once resolved

	canceled atomic.Bool // stream.cancel
	killed   atomic.Bool // the session ended (or the agent shuts down)
}

func newFsStream(sess *session, id uint32, op *protocol.Operation) *fsStream {
	return &fsStream{dataStream: newDataStream(sess, id, op.Input), op: op}
}

// run resolves the user, takes on its identity, does the work and sends the terminal message. An operation
// with output ends its STDOUT channel (empty frame) before fs.done, as exec does before exec.exited.
func (f *fsStream) run(task *fsTask) {
	defer func() {
		if r := recover(); r != nil { // a bug must not take PID 1 down
			f.sess.srv.logf("stream %d: %s panicked: %v", f.id, f.op.Open, r)
			f.finish(protocol.Errorf(protocol.CodeIO, "%s: internal error", f.op.Open).Msg())
		}
	}()
	defer f.closeInput()
	cred, switchID, opErr := resolveFsUser(task.user, f.sess.srv.users, os.Geteuid(), os.Getegid())
	if opErr != nil {
		f.finish(opErr.Msg())
		return
	}
	if switchID {
		// Never unlocked: a goroutine that ends locked takes its thread (and the changed identity) with it.
		runtime.LockOSThread()
		if err := cred.apply(); err != nil {
			f.finish(protocol.FieldErrorf(protocol.CodeIO, "user", "%s: switching to user %q: %v", f.op.Open,
				task.user, err).Msg())
			return
		}
	}
	f.cred = cred
	msg, opErr := task.run(f)
	if opErr != nil {
		if stop := f.stopped(); stop != nil {
			opErr = stop
		}
		f.finish(opErr.Msg())
		return
	}
	if f.op.Output {
		_ = f.send(protocol.KindStdout, nil)
	}
	f.finish(msg)
}

// stopped returns the ECANCELED error once the stream was cancelled or its session ended, else nil.
func (f *fsStream) stopped() *protocol.OpError {
	switch {
	case f.killed.Load():
		return protocol.Errorf(protocol.CodeCanceled, "%s: the session ended", f.op.Open)
	case f.canceled.Load():
		return protocol.Errorf(protocol.CodeCanceled, "%s: cancelled", f.op.Open)
	}
	return nil
}

// control handles stream.cancel, the only follow-up of the cancellable file operations.
func (f *fsStream) control(typ string, payload []byte) {
	var m protocol.Simple
	if typ != protocol.TypeStreamCancel || unmarshal(payload, &m) != nil {
		f.sess.srv.logf("stream %d: ignoring %s %s on %s", f.id, typ, payload, f.op.Open)
		return
	}
	f.canceled.Store(true)
	f.win.setDiscard()
	f.closeInput()
}

// terminate stops the operation on shutdown, as the session's end does.
func (f *fsStream) terminate() { f.kill() }

// kill stops the operation when its session ends.
func (f *fsStream) kill() {
	f.killed.Store(true)
	f.win.close()
	f.closeInput()
}

func (f *fsStream) closeInput() {
	if f.in != nil {
		f.in.close()
	}
}

// done is the fs.done message.
func done(bytes int64) protocol.FsDone {
	return protocol.FsDone{Type: protocol.TypeFsDone, Bytes: bytes}
}
