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

// execStream is one exec operation: a process in its own process group, its pipes, and the stream's
// flow-control state.
type execStream struct {
	sess *session
	id   uint32
	win  *sendWindow
	in   *inputQueue // nil unless stdin is "pipe"

	sendMu sync.Mutex // orders this stream's frames; nothing is sent after the terminal message
	ended  bool

	mu       sync.Mutex
	pid      int // also the process group id; 0 until started
	exited   bool
	killed   bool
	timedOut bool
	pending  []syscall.Signal

	procExited atomic.Bool
	done       chan struct{} // closed when the main process has exited (or never started)
	finished   chan struct{} // closed after the terminal message
	stdinOnce  sync.Once
	stdinW     *os.File
}

// newExecStream creates the stream; with pipedStdin its input queue exists before any STDIN can arrive.
func newExecStream(sess *session, id uint32, pipedStdin bool) *execStream {
	x := &execStream{sess: sess, id: id, win: newSendWindow(), done: make(chan struct{}),
		finished: make(chan struct{})}
	if pipedStdin {
		x.in = newInputQueue()
	}
	return x
}

// send writes one frame of this stream unless the stream already ended.
func (x *execStream) send(kind protocol.Kind, payload []byte) error {
	x.sendMu.Lock()
	defer x.sendMu.Unlock()
	if x.ended {
		return errStale
	}
	return x.sess.write(x.id, kind, payload)
}

// finish sends the terminal message; later frames of the stream are dropped.
func (x *execStream) finish(msg any) {
	x.sendMu.Lock()
	defer x.sendMu.Unlock()
	if !x.ended {
		x.ended = true
		_ = x.sess.write(x.id, protocol.KindControl, protocol.Marshal(msg))
	}
}

// run executes the whole operation; it returns after the terminal message.
func (x *execStream) run(req *protocol.ExecStart) {
	defer close(x.finished)
	defer x.sess.remove(x.id)
	fail := func(opErr *protocol.OpError) {
		close(x.done)
		if x.in != nil {
			x.in.close()
		}
		x.finish(opErr.Msg())
	}
	spec, opErr := prepare(req, x.sess.srv.opts.EtcDir)
	if opErr != nil {
		fail(opErr)
		return
	}
	p, status, opErr := x.start(spec)
	if opErr != nil {
		fail(opErr)
		return
	}
	_ = x.send(protocol.KindControl, protocol.Marshal(protocol.ExecStarted{Type: protocol.TypeExecStarted, Pid: x.pid}))

	var wg sync.WaitGroup
	wg.Add(2)
	go x.pump(p.stdout, protocol.KindStdout, &wg)
	go x.pump(p.stderr, protocol.KindStderr, &wg)
	if x.in != nil {
		go x.feed()
	}
	var timer *time.Timer
	if req.TimeoutMs > 0 {
		timer = time.AfterFunc(time.Duration(req.TimeoutMs)*time.Millisecond, x.onTimeout)
	}

	ws := <-status
	x.mu.Lock()
	x.exited = true
	timedOut := x.timedOut
	x.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	close(x.done)
	// Background jobs outlive the command, as with `docker exec` (a server started with `cmd &` keeps
	// running); pipes they still hold are drained until idle for drainGrace, then closed.
	x.procExited.Store(true)
	deadline := time.Now().Add(drainGrace)
	_ = p.stdout.SetReadDeadline(deadline)
	_ = p.stderr.SetReadDeadline(deadline)
	wg.Wait()
	p.stdout.Close()
	p.stderr.Close()
	if x.in != nil {
		x.in.close()
	}
	x.closeStdin()

	msg := protocol.ExecExited{Type: protocol.TypeExecExited, Code: ws.ExitStatus(), TimedOut: timedOut}
	if ws.Signaled() {
		msg.Signal = int(ws.Signal())
		msg.Code = 128 + msg.Signal
	}
	x.finish(msg)
}

// procPipes are the agent's ends of a process's pipes.
type procPipes struct {
	stdout, stderr *os.File
}

// start creates the pipes and the process (in its own process group), registered with the reaper.
func (x *execStream) start(spec *spawnSpec) (procPipes, <-chan syscall.WaitStatus, *protocol.OpError) {
	var p procPipes
	var child []*os.File
	closeAll := func(files []*os.File) {
		for _, f := range files {
			f.Close()
		}
	}
	outR, outW, err1 := os.Pipe()
	errR, errW, err2 := os.Pipe()
	stdin, stdinW, err3 := childStdin(spec.pipe)
	if err := firstErr(err1, err2, err3); err != nil {
		closeAll([]*os.File{outR, outW, errR, errW, stdin, stdinW})
		return p, nil, protocol.Errorf(protocol.CodeIO, "creating pipes: %v", err)
	}
	child = []*os.File{stdin, outW, errW}
	attr := &syscall.ProcAttr{
		Dir:   spec.dir,
		Env:   spec.env,
		Files: []uintptr{stdin.Fd(), outW.Fd(), errW.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Credential: spec.cred},
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	if x.killed {
		closeAll(append(child, outR, errR, stdinW))
		return p, nil, protocol.Errorf(protocol.CodeIO, "session ended")
	}
	pid, status, err := reaper.Default().ForkExec(spec.path, spec.argv, attr)
	closeAll(child)
	if err != nil {
		closeAll([]*os.File{outR, errR, stdinW})
		return p, nil, execError(err, spec.argv[0])
	}
	x.pid = pid
	x.stdinW = stdinW
	for _, sig := range x.pending {
		_ = syscall.Kill(-pid, sig)
	}
	x.pending = nil
	return procPipes{stdout: outR, stderr: errR}, status, nil
}

// childStdin returns the child's stdin and, for "pipe", the agent's write end.
func childStdin(pipe bool) (child, agentEnd *os.File, err error) {
	if pipe {
		r, w, err := os.Pipe()
		return r, w, err
	}
	if f, err := os.Open(os.DevNull); err == nil {
		return f, nil, nil
	}
	// No /dev/null: an empty pipe reads as EOF just the same.
	r, w, err := os.Pipe()
	if err == nil {
		w.Close()
	}
	return r, nil, err
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *execStream) onTimeout() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.exited && x.pid > 0 {
		x.timedOut = true
		_ = syscall.Kill(-x.pid, syscall.SIGKILL)
	}
}

// control handles a CONTROL message on the running stream (exec.signal).
func (x *execStream) control(typ string, payload []byte) {
	if typ != protocol.TypeExecSignal {
		x.sess.srv.logf("stream %d: ignoring %q on a running exec", x.id, typ)
		return
	}
	var m protocol.ExecSignal
	if err := unmarshal(payload, &m); err != nil || m.Signal < 1 || m.Signal > 64 {
		x.sess.srv.logf("stream %d: ignoring invalid exec.signal %s", x.id, payload)
		return
	}
	sig := syscall.Signal(m.Signal)
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
func (x *execStream) terminate(sig syscall.Signal) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.pid > 0 && !x.exited {
		_ = syscall.Kill(-x.pid, sig)
	}
}
