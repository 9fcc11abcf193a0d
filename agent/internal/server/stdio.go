package server

import (
	"os"
	"syscall"
)

// stdio is a process's standard files: the child's fds 0, 1, 2 and the agent's ends.
type stdio struct {
	// child are the files that become the child's fds 0, 1 and 2 (a pseudo-terminal's slave thrice).
	child [3]*os.File
	// stdout and stderr are read by the agent; stderr is nil on a terminal (everything arrives on stdout).
	stdout, stderr *os.File
	// input receives the host's STDIN bytes: a pipe's write end, the terminal's master, or nil.
	input *os.File
	// tty is the terminal's master (the same file as stdout and input), or nil.
	tty *os.File
}

// pipeStdio creates the pipes of a process without a terminal; with pipeIn, stdin is a pipe the agent
// writes, else /dev/null.
func pipeStdio(pipeIn bool) (*stdio, error) {
	outR, outW, err1 := os.Pipe()
	errR, errW, err2 := os.Pipe()
	in, inW, err3 := childStdin(pipeIn)
	if err := firstErr(err1, err2, err3); err != nil {
		closeFiles(outR, outW, errR, errW, in, inW)
		return nil, err
	}
	return &stdio{child: [3]*os.File{in, outW, errW}, stdout: outR, stderr: errR, input: inW}, nil
}

// ttyStdio opens a pseudo-terminal of rows x cols; the slave is owned by uid when uid >= 0.
func ttyStdio(rows, cols int, uid int) (*stdio, error) {
	master, slave, err := openPty(rows, cols)
	if err != nil {
		return nil, err
	}
	if uid >= 0 {
		_ = slave.Chown(uid, -1) // as with login: the user owns their terminal
	}
	return &stdio{child: [3]*os.File{slave, slave, slave}, stdout: master, input: master, tty: master}, nil
}

// childFds returns the child's fds 0, 1, 2 for syscall.ProcAttr.Files.
func (s *stdio) childFds() []uintptr {
	return []uintptr{s.child[0].Fd(), s.child[1].Fd(), s.child[2].Fd()}
}

// closeChild closes the agent's copies of the child's files (after the fork, or when it failed).
func (s *stdio) closeChild() { closeFiles(s.child[:]...) }

// closeAgent closes the agent's ends (when the fork failed).
func (s *stdio) closeAgent() { closeFiles(s.stdout, s.stderr, s.input) }

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

// closeFiles closes the non-nil files, each once.
func closeFiles(files ...*os.File) {
	seen := map[*os.File]bool{}
	for _, f := range files {
		if f != nil && !seen[f] {
			seen[f] = true
			f.Close()
		}
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// sysProcAttr returns the process attributes: a new process group, or with a terminal a new session whose
// controlling terminal is fd 0 (setsid makes the process its group's leader, so -pid signals the group).
func sysProcAttr(tty bool, cred *syscall.Credential) *syscall.SysProcAttr {
	if tty {
		return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Credential: cred}
	}
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
