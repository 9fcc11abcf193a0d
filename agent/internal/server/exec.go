package server

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"microsandbox/agent/internal/protocol"
	"microsandbox/agent/internal/reaper"
)

// drainGrace is how long, after the main process exited, an output pipe may stay idle before the agent stops
// waiting for EOF (a background job, e.g. a daemon it started, may still hold it open).
const drainGrace = 250 * time.Millisecond

// startedHold is how long exec.started may wait for the command's first output or its exit, to go out in the
// same write (see dataStream.sendSoon); a command silent for longer gets it after startedHold.
const startedHold = 10 * time.Millisecond

// execStream is one exec operation: a process in its own process group (or session, on a terminal), its
// standard files, and the stream's flow-control state.
type execStream struct {
	*dataStream // its input queue is nil unless stdin is "pipe"

	mu       sync.Mutex
	pid      int // also the process group id; 0 until started
	exited   bool
	killed   bool // the session ended
	canceled bool // stream.cancel
	timedOut bool
	pending  []syscall.Signal
	tty      *os.File // the terminal's master, nil without a terminal; closed by run

	procExited atomic.Bool
	done       chan struct{} // closed when the main process has exited (or never started)
	stdinOnce  sync.Once
	stdinW     *os.File // the stdin pipe's write end (nil with a terminal: input goes to tty)
}

// newExecStream creates the stream; with pipedStdin its input queue exists before any STDIN can arrive.
func newExecStream(sess *session, id uint32, pipedStdin bool) *execStream {
	return &execStream{dataStream: newDataStream(sess, id, pipedStdin), done: make(chan struct{})}
}

// run executes the whole operation; it returns after the terminal message.
func (x *execStream) run(req *protocol.ExecStart) {
	fail := func(opErr *protocol.OpError) {
		close(x.done)
		if x.in != nil {
			x.in.close()
		}
		x.finish(opErr.Msg())
	}
	spec, opErr := prepare(req, x.sess.srv.users)
	if opErr != nil {
		fail(opErr)
		return
	}
	std, status, opErr := x.start(spec)
	if opErr != nil {
		fail(opErr)
		return
	}
	x.sendSoon(protocol.KindControl, protocol.Marshal(protocol.ExecStarted{Type: protocol.TypeExecStarted, Pid: x.pid}), startedHold)
	if std.tty != nil {
		x.sendSoon(protocol.KindStderr, nil, startedHold) // a terminal prints everything on stdout
	}
	if x.in != nil {
		go x.feed(std.input, std.tty != nil)
	}
	var timer *time.Timer
	if req.TimeoutMs > 0 {
		timer = time.AfterFunc(time.Duration(req.TimeoutMs)*time.Millisecond, x.onTimeout)
	}

	// A command that exits within startedHold (the wait exec.started has anyway) leaves all its output in its
	// pipes: it is read after the exit, with no pump. Else, or on a terminal, pumps stream the output.
	var wg sync.WaitGroup
	ws, quick := waitBriefly(status, std.tty == nil)
	if !quick {
		for _, o := range std.out {
			wg.Add(1)
			go x.pump(o.osFile(), o.kind, &wg)
		}
		ws = <-status
	}
	x.mu.Lock()
	x.exited = true
	timedOut := x.timedOut
	x.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	close(x.done)
	// Background jobs outlive the command, as with `docker exec` (a server started with `cmd &` keeps
	// running); pipes (or the terminal) they still hold are drained until idle for drainGrace, then closed.
	x.procExited.Store(true)
	if quick {
		x.drainExited(std.out, &wg)
	} else {
		deadline := time.Now().Add(drainGrace)
		for _, o := range std.out {
			_ = o.file.SetReadDeadline(deadline)
		}
	}
	wg.Wait()
	if x.in != nil {
		x.in.close()
	}
	x.closeStdin()
	x.mu.Lock()
	x.tty = nil // no resize from now on
	x.mu.Unlock()
	std.closeAgent() // also ends a write to the terminal in progress

	msg := protocol.ExecExited{Type: protocol.TypeExecExited, Code: ws.ExitStatus(), TimedOut: timedOut}
	if ws.Signaled() {
		msg.Signal = int(ws.Signal())
		msg.Code = 128 + msg.Signal
	}
	// The output channels' EOFs (stderr's went at the start on a terminal) and the exit: one write.
	eofs := make([]protocol.Kind, 0, len(std.out))
	for _, o := range std.out {
		eofs = append(eofs, o.kind)
	}
	x.finishAfterEOF(eofs, msg)
}

// waitBriefly waits up to startedHold for the exit status when allowed; it reports whether the status came.
func waitBriefly(status <-chan syscall.WaitStatus, allowed bool) (syscall.WaitStatus, bool) {
	if !allowed {
		return 0, false
	}
	hold := time.NewTimer(startedHold)
	defer hold.Stop()
	select {
	case ws := <-status:
		return ws, true
	case <-hold.C:
		return 0, false
	}
}

// drainExited reads the output the exited process left in its pipes. It goes out with the exit, in one write,
// when the send window covers it. A pipe still held open (by a background job) gets a pump, which reads the rest
// until the pipe is idle for drainGrace; what was read before goes out first.
func (x *execStream) drainExited(outs []*output, wg *sync.WaitGroup) {
	chunk := x.sess.srv.chunk()
	defer x.sess.srv.putChunk(chunk)
	var open []*output
	for _, o := range outs {
		kind := o.kind
		send := func(data []byte) error {
			if x.holdData(kind, data) {
				return nil
			}
			return x.sendData(kind, data)
		}
		if !o.drain(*chunk, send) {
			open = append(open, o)
		}
	}
	if len(open) == 0 {
		return
	}
	x.flushHeld()
	for _, o := range open {
		wg.Add(1)
		go x.pump(o.osFile(), o.kind, wg)
	}
}

// start creates the standard files and the process (in its own process group, or its own session on a
// terminal), registered with the reaper.
func (x *execStream) start(spec *spawnSpec) (*stdio, <-chan syscall.WaitStatus, *protocol.OpError) {
	var std *stdio
	var err error
	if spec.tty != nil {
		uid := -1
		if spec.cred != nil {
			uid = int(spec.cred.Uid)
		}
		std, err = ttyStdio(spec.tty.Rows, spec.tty.Cols, uid)
	} else {
		std, err = pipeStdio(spec.pipe, x.sess.srv.nullFd())
	}
	if err != nil {
		if spec.tty != nil {
			return nil, nil, protocol.FieldErrorf(protocol.CodeIO, "tty", "opening a pseudo-terminal: %v", err)
		}
		return nil, nil, protocol.Errorf(protocol.CodeIO, "creating pipes: %v", err)
	}
	attr := &syscall.ProcAttr{
		Dir:   spec.dir,
		Env:   spec.env,
		Files: std.childFds(),
		Sys:   sysProcAttr(spec.tty != nil, spec.cred),
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	if x.killed {
		std.closeChild()
		std.closeAgent()
		return nil, nil, errSessionEnded
	}
	pid, status, err := reaper.Default().ForkExec(spec.path, spec.argv, attr)
	std.closeChild()
	if err != nil {
		std.closeAgent()
		return nil, nil, execError(err, spec)
	}
	x.pid = pid
	x.tty = std.tty
	if std.tty == nil {
		x.stdinW = std.input
	}
	for _, sig := range x.pending {
		_ = syscall.Kill(-pid, sig)
	}
	x.pending = nil
	return std, status, nil
}

func (x *execStream) onTimeout() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.exited && x.pid > 0 {
		x.timedOut = true
		_ = syscall.Kill(-x.pid, syscall.SIGKILL)
	}
}

// control handles a follow-up on the running stream (the dispatcher checked it is one of exec.start's).
func (x *execStream) control(typ string, payload []byte) {
	switch typ {
	case protocol.TypeExecSignal:
		var m protocol.ExecSignal
		if err := unmarshal(payload, &m); err != nil || m.Signal < 1 || m.Signal > 64 {
			x.sess.srv.logf("stream %d: ignoring invalid exec.signal %s", x.id, payload)
			return
		}
		x.signal(syscall.Signal(m.Signal))
	case protocol.TypeExecResize:
		var m protocol.ExecResize
		if err := unmarshal(payload, &m); err != nil || !validTtySize(m.Rows, m.Cols) {
			x.sess.srv.logf("stream %d: ignoring invalid exec.resize %s", x.id, payload)
			return
		}
		x.resize(m.Rows, m.Cols)
	case protocol.TypeStreamCancel:
		var m protocol.Simple
		if err := unmarshal(payload, &m); err != nil {
			x.sess.srv.logf("stream %d: ignoring invalid stream.cancel %s", x.id, payload)
			return
		}
		x.cancel()
	default:
		x.sess.srv.logf("stream %d: ignoring %q on a running exec", x.id, typ)
	}
}

// signal signals the process group (once the process started; before, the signal waits for it).
func (x *execStream) signal(sig syscall.Signal) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.exited || x.killed:
	case x.pid == 0:
		x.pending = append(x.pending, sig)
	default:
		_ = syscall.Kill(-x.pid, sig)
	}
}

// resize sets the terminal's window size; without a terminal (or once it is closed) it does nothing.
func (x *execStream) resize(rows, cols int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.tty == nil {
		return
	}
	if err := setWinsize(x.tty, rows, cols); err != nil {
		x.sess.srv.logf("stream %d: exec.resize: %v", x.id, err)
	}
}

// cancel is stream.cancel: the host is no longer interested. The process group is killed, input is dropped,
// and output is read and discarded without waiting for credit, so the stream ends (empty EOF frames, then
// exec.exited) whatever the host does with credit.
func (x *execStream) cancel() {
	x.mu.Lock()
	if !x.canceled {
		x.canceled = true
		switch {
		case x.exited || x.killed:
		case x.pid == 0:
			x.pending = append(x.pending, syscall.SIGKILL)
		default:
			_ = syscall.Kill(-x.pid, syscall.SIGKILL)
		}
	}
	x.mu.Unlock()
	x.win.setDiscard()
	if x.in != nil {
		x.in.close()
	}
}

// kill tears the stream down when its session ends: the process group is killed and waits are released.
func (x *execStream) kill() {
	x.mu.Lock()
	x.killed = true
	if x.pid > 0 && !x.exited {
		_ = syscall.Kill(-x.pid, syscall.SIGKILL)
	}
	x.mu.Unlock()
	x.win.close()
	if x.in != nil {
		x.in.close()
	}
}

// terminate sends SIGTERM to the process group (shutdown).
func (x *execStream) terminate() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.pid > 0 && !x.exited {
		_ = syscall.Kill(-x.pid, syscall.SIGTERM)
	}
}
