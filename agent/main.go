// Command agent is the microsandbox guest agent. As PID 1 of the microVM it mounts the basics, loads the
// kernel modules of the initramfs, and serves the host protocol (protocol/PROTOCOL.md) on the
// virtio-serial port named "agent". Run as an ordinary process with --listen unix:PATH, it serves the same
// protocol on a unix socket (development and tests: no mounts, no root switching).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"microsandbox/agent/internal/protocol"
)

// version is the agent version reported in the HELLO (override with -ldflags "-X main.version=...").
var version = "0.1.0"

// features are the optional capabilities reported in the HELLO: exactly agentFeatures of
// protocol/operations.json (main_test.go checks).
var features = append([]string(nil), protocol.AgentFeatures...)

func main() {
	log.SetFlags(0)
	log.SetPrefix("msb-agent: ")
	if os.Getpid() == 1 {
		runInit()
		return
	}
	listen := flag.String("listen", "", "serve on `unix:PATH` (development mode)")
	exitOnShutdown := flag.Bool("exit-on-shutdown", false, "exit after a shutdown request (development mode)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if *listen == "" {
		fmt.Fprintln(os.Stderr, "msb-agent: not PID 1: use --listen unix:PATH for development mode")
		flag.Usage()
		os.Exit(2)
	}
	if err := runDev(*listen, *exitOnShutdown); err != nil {
		log.Fatal(err)
	}
}
