package server

import (
	"os"
	"strconv"
	"syscall"

	"microsandbox/agent/internal/protocol"
)

// stdio is a process's standard files: the child's fds 0, 1, 2 and the agent's ends.
//
// The child's ends of pipes stay raw, blocking fds that never meet the agent's poller: wrapping them in
// os.File (registered with epoll, then switched back to blocking by Fd, then unregistered at close) cost
// about a dozen guest syscalls per exec, measurable under TCG. The agent's ends of the output pipes stay raw
// until a pump reads them (see output).
type stdio struct {
	// child are the fds that become the child's fds 0, 1 and 2 (a pseudo-terminal's slave thrice).
	child [3]int
	// owned are the fds of child the agent closes after the fork (a shared /dev/null is not among them).
	owned []int
	// slave is the pseudo-terminal's slave (its fd is child[0..2]), closed after the fork; nil without one.
	slave *os.File
	// out are the channels the agent reads: stdout, then stderr (a terminal has only stdout: everything
	// arrives there).
	out []*output
	// input receives the host's STDIN bytes: a pipe's write end, the terminal's master, or nil.
	input *os.File
	// tty is the terminal's master (the same file as out[0] and input), or nil.
	tty *os.File
}

// pipeStdio creates the pipes of a process without a terminal; with pipeIn, stdin is a pipe the agent
// writes, else devNull (a shared read-only /dev/null fd; -1 when there is none).
func pipeStdio(pipeIn bool, devNull int) (*stdio, error) {
	s := &stdio{}
	for i, kind := range []protocol.Kind{protocol.KindStdout, protocol.KindStderr} {
		agentFd, childFd, err := pipeFds(true)
		if err != nil {
			s.closeChild()
			s.closeAgent()
			return nil, err
		}
		s.out = append(s.out, pipeOutput(kind, agentFd))
		s.child[1+i] = childFd
		s.owned = append(s.owned, childFd)
	}
	var err error
	switch {
	case pipeIn:
		s.input, s.child[0], err = agentPipe(false)
	case devNull >= 0:
		s.child[0] = devNull
		return s, nil
	default:
		// No /dev/null: an empty pipe reads as EOF just the same.
		var empty *os.File
		empty, s.child[0], err = agentPipe(false)
		if err == nil {
			empty.Close()
		}
	}
	if err != nil {
		s.closeChild()
		s.closeAgent()
		return nil, err
	}
	s.owned = append(s.owned, s.child[0])
	return s, nil
}

// agentPipe creates a pipe: the agent's end (the read end when agentReads, else the write end) as a
// non-blocking, pollable os.File, the child's end as a raw blocking fd. Both are close-on-exec.
func agentPipe(agentReads bool) (agentEnd *os.File, childFd int, err error) {
	agentFd, childFd, err := pipeFds(agentReads)
	if err != nil {
		return nil, -1, err
	}
	return os.NewFile(uintptr(agentFd), "|"+strconv.Itoa(agentFd)), childFd, nil
}

// pipeFds creates a pipe: the agent's end (the read end when agentReads, else the write end) non-blocking, the
// child's end blocking, both raw fds and close-on-exec.
func pipeFds(agentReads bool) (agentFd, childFd int, err error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return -1, -1, err
	}
	agentFd, childFd = p[0], p[1]
	if !agentReads {
		agentFd, childFd = p[1], p[0]
	}
	if err := syscall.SetNonblock(agentFd, true); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return -1, -1, err
	}
	return agentFd, childFd, nil
}

// openDevNull opens /dev/null read-only for every exec's stdin (close-on-exec: a child gets it only as its
// fd 0); -1 when there is none.
func openDevNull() int {
	fd, err := syscall.Open(os.DevNull, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
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
	fd := int(slave.Fd())
	out := []*output{fileOutput(protocol.KindStdout, master)}
	return &stdio{child: [3]int{fd, fd, fd}, slave: slave, out: out, input: master, tty: master}, nil
}

// childFds returns the child's fds 0, 1, 2 for syscall.ProcAttr.Files.
func (s *stdio) childFds() []uintptr {
	return []uintptr{uintptr(s.child[0]), uintptr(s.child[1]), uintptr(s.child[2])}
}

// closeChild closes the agent's copies of the child's files (after the fork, or when it failed).
func (s *stdio) closeChild() {
	for _, fd := range s.owned {
		syscall.Close(fd)
	}
	s.owned = nil
	if s.slave != nil {
		s.slave.Close()
		s.slave = nil
	}
}

// closeAgent closes the agent's ends: when the fork failed, and after the stream's end (which also ends a
// write to the terminal in progress).
func (s *stdio) closeAgent() {
	for _, o := range s.out {
		if o.file == nil || (o.file != s.input && o.file != s.tty) {
			o.close()
		}
	}
	closeFiles(s.input, s.tty)
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

// sysProcAttr returns the process attributes: a new process group, or with a terminal a new session whose
// controlling terminal is fd 0 (setsid makes the process its group's leader, so -pid signals the group).
func sysProcAttr(tty bool, cred *syscall.Credential) *syscall.SysProcAttr {
	if tty {
		return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Credential: cred}
	}
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
