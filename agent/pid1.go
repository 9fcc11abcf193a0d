package main

import (
	"errors"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"microsandbox/agent/internal/reaper"
	"microsandbox/agent/internal/server"
	"microsandbox/agent/internal/sysinit"
)

// portName is the name of the virtio-serial port the host listens on.
const portName = "agent"

// runInit is the PID 1 path. It never returns: PID 1 exiting panics the kernel, so any fatal error powers
// the machine off instead.
func runInit() {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("fatal: panic: %v\n%s", r, debug.Stack())
			sysinit.PowerOff()
		}
	}()
	err := boot()
	log.Printf("fatal: %v", err)
	sysinit.PowerOff()
}

func boot() error {
	start := time.Now()
	if err := sysinit.MountEarly(); err != nil {
		return err
	}
	handleSignals()
	reaper.Default()
	sysinit.LoadModules("/modules")
	if err := sysinit.SetHostname("localhost"); err != nil {
		log.Printf("hostname: %v", err)
	}
	guest := &sysinit.Guest{}
	guest.StartLoopback()
	port, err := sysinit.FindPort(portName, 10*time.Second)
	if err != nil {
		return err
	}
	log.Printf("agent %s ready in %v on %s", version, time.Since(start).Round(time.Millisecond), port.Name())
	srv := server.New(server.Options{AgentVersion: version, Features: features, System: guest})
	srv.ServePort(port)
	return errors.New("port server stopped")
}

// handleSignals keeps PID 1 alive: the Go runtime would exit on SIGTERM, SIGINT, SIGHUP, SIGQUIT... and
// PID 1 exiting panics the kernel. Requests to stop (SIGTERM, SIGINT, SIGPWR) power off cleanly; all
// other signals are ignored.
func handleSignals() {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch)
	go func() {
		for sig := range ch {
			switch sig {
			case syscall.SIGTERM, syscall.SIGINT, syscall.SIGPWR:
				log.Printf("received %v", sig)
				sysinit.PowerOff()
			}
		}
	}()
}
