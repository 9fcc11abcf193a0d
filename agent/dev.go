package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"microsandbox/agent/internal/server"
)

// runDev serves the protocol on a unix socket, one session per accepted connection, until SIGINT/SIGTERM
// (or a shutdown request with exitOnShutdown). Processes started by the connections die with them.
func runDev(listen string, exitOnShutdown bool) error {
	path := strings.TrimPrefix(listen, "unix:")
	if !strings.HasPrefix(listen, "unix:") || path == "" {
		return fmt.Errorf("--listen %q: expected unix:PATH", listen)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ln, err := listenUnix(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)

	var srv *server.Server
	stop := func(code int) {
		srv.TerminateAll(500 * time.Millisecond)
		ln.Close()
		os.Remove(path)
		os.Exit(code)
	}
	sys := server.DevSystem{}
	if exitOnShutdown {
		sys.OnShutdown = func() { go stop(0) }
	}
	srv = server.New(server.Options{AgentVersion: version, Features: features, System: sys,
		PerConnection: true})

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		log.Printf("received %v: stopping", sig)
		stop(0)
	}()

	log.Printf("agent %s (development mode) listening on unix:%s", version, path)
	for {
		c, err := ln.accept()
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		go func() {
			if err := srv.ServeConn(c); err != nil {
				log.Printf("connection dropped: %v", err)
			}
		}()
	}
}

// unixListener is a listening unix socket, made with syscalls: the agent does not link the net package (see
// internal/netaddr).
type unixListener struct {
	fd     int
	mu     sync.Mutex
	closed bool
}

func listenUnix(path string) (*unixListener, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	if err := syscall.Listen(fd, 16); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	return &unixListener{fd: fd}, nil
}

// accept waits for a connection (blocking this goroutine's thread); os.ErrClosed once Close was called.
func (l *unixListener) accept() (*os.File, error) {
	for {
		nfd, _, err := syscall.Accept4(l.fd, syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK)
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			if err == nil {
				syscall.Close(nfd)
			}
			syscall.Close(l.fd) // only now: a descriptor closed under a running accept4 could be reused meanwhile
			return nil, os.ErrClosed
		}
		if err == syscall.EINTR || err == syscall.ECONNABORTED {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("accept4", err)
		}
		// Non-blocking, so the file is served by the runtime's poller and Close ends a read in progress.
		return os.NewFile(uintptr(nfd), "unix-conn"), nil
	}
}

// Close stops accept: shutdown wakes a blocked accept4, which then closes the descriptor.
func (l *unixListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return syscall.Shutdown(l.fd, syscall.SHUT_RDWR)
}
