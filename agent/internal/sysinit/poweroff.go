//go:build linux

package sysinit

import (
	"log"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// PowerOff terminates every process (SIGTERM, then SIGKILL after 2 s), syncs, unmounts and powers the
// machine off. It does not return.
func PowerOff() {
	powerOffOnce.Do(powerOff)
	select {} // a concurrent caller waits for the first one to end the machine
}

var powerOffOnce sync.Once

func powerOff() {
	log.Printf("powering off")
	// Asked before unmountAll: it reads /sys, which is gone after it.
	powerOffWorks := canPowerOff()
	terminateAll(2 * time.Second)
	syscall.Sync()
	unmountAll()
	syscall.Sync()
	if !powerOffWorks {
		// Without a power-off method the kernel would halt and leave QEMU running; a restart ends QEMU, which
		// runs with -no-reboot.
		log.Printf("no ACPI: restarting to end the VM")
		_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
	}
	err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	log.Printf("power off failed (%v): restarting", err)
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
}

// canPowerOff reports whether the kernel has a way to power the machine off. On x86_64 that is ACPI (QEMU's
// microvm without ACPI tables, as the microvm kernel runs, has none: power off would just halt the CPU); arm64
// powers off through PSCI.
func canPowerOff() bool {
	if runtime.GOARCH != "amd64" {
		return true
	}
	_, err := os.Stat("/sys/firmware/acpi")
	return err == nil
}

// terminateAll signals every process but PID 1 (the reaper collects them), waiting up to grace for them
// to exit before SIGKILL.
func terminateAll(grace time.Duration) {
	_ = syscall.Kill(-1, syscall.SIGTERM)
	if waitNoProcesses(grace) {
		return
	}
	_ = syscall.Kill(-1, syscall.SIGKILL)
	waitNoProcesses(time.Second)
}

// waitNoProcesses polls until no user-space process other than the agent is left; false on timeout.
func waitNoProcesses(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if !userProcessesLeft() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// userProcessesLeft reports whether a live user-space process other than the agent exists. Kernel
// threads and zombies have an empty cmdline.
func userProcessesLeft() bool {
	dir, err := os.Open("/proc")
	if err != nil {
		return false
	}
	defer dir.Close()
	names, _ := dir.Readdirnames(-1)
	self := os.Getpid()
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		if b, err := os.ReadFile("/proc/" + name + "/cmdline"); err == nil && len(b) > 0 {
			return true
		}
	}
	return false
}
