//go:build linux

package sysinit

import (
	"log"
	"os"
	"sync"
	"syscall"

	"microsandbox/agent/internal/protocol"
)

// Guest is the server.System of the agent running as PID 1 of the microVM.
type Guest struct {
	mu sync.Mutex
	// loopback is closed once the boot's loopback set-up (StartLoopback) is over; nil when none was started.
	loopback chan struct{}
	// netStage is the detached tmpfs holding the resolv.conf and hosts bound over /etc (nil before net.configure).
	netStage *os.File
}

// StartLoopback brings the loopback interface up in the background: the kernel waits for RCU grace periods
// there (10-20 ms of a boot under TCG), time the agent spends finding its port and answering the host instead.
// Init waits for it, so nothing the host asks for ever runs before loopback is up.
func (g *Guest) StartLoopback() {
	done := make(chan struct{})
	g.loopback = done
	go func() {
		defer close(done)
		if err := LoopbackUp(); err != nil {
			log.Printf("loopback: %v", err)
		}
	}()
}

// Init sets the hostname, switches into the root disk when one is given, then makes the mounts (validated by
// the server) in plan order; first it waits for StartLoopback's set-up, when there is one.
func (g *Guest) Init(req *protocol.Init) *protocol.OpError {
	if g.loopback != nil {
		<-g.loopback
	}
	if req.Hostname != "" {
		if err := SetHostname(req.Hostname); err != nil {
			return protocol.Errorf(protocol.CodeIO, "hostname: %v", err)
		}
	}
	if hasVirtiofs(req.Mounts) {
		LoadModuleList(initramfsModules, virtiofsModules)
	}
	if req.Root != nil {
		if err := SwitchRoot(req.Root); err != nil {
			return err
		}
	}
	return mountGuest(req.Mounts)
}

// SetClock sets the wall clock (the guest has no reliable RTC time of its own).
func (g *Guest) SetClock(ms int64) {
	tv := syscall.NsecToTimeval(ms * 1e6)
	if err := syscall.Settimeofday(&tv); err != nil {
		log.Printf("set clock: %v", err)
	}
}

// Shutdown powers the machine off.
func (g *Guest) Shutdown() { PowerOff() }

// SetHostname sets the kernel host name.
func SetHostname(name string) error { return syscall.Sethostname([]byte(name)) }

// Resume makes a VM restored from a template its own: the hostname, then the host's entropy credited to the
// kernel's input pool and the CRNG reseeded from it, so no two VMs of one template share random state; then
// the sandbox's resolv.conf and hosts, when given, in place of the template's.
func (g *Guest) Resume(hostname string, entropy []byte, files *protocol.NetFiles) *protocol.OpError {
	if hostname != "" {
		if err := SetHostname(hostname); err != nil {
			return protocol.Errorf(protocol.CodeIO, "hostname: %v", err)
		}
	}
	if err := reseedRandom(entropy); err != nil {
		return protocol.Errorf(protocol.CodeIO, "reseed the RNG: %v", err)
	}
	if files != nil {
		if err := g.setNetFiles(files); err != nil {
			return err
		}
	}
	log.Printf("resumed from a VM template as %s (RNG reseeded)", hostname)
	return nil
}
