package main

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
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
	ln, err := net.Listen("unix", path)
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
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
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
