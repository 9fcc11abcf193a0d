//go:build linux

package sysinit

import (
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// initramfsModules is where the initramfs keeps its kernel modules and their lists.
const initramfsModules = "/modules"

// LoadModules loads the kernel modules listed in dir/order (one .ko file name per line, dependency order)
// from dir with finit_module. Already loaded modules are fine; failures are logged and skipped.
func LoadModules(dir string) { LoadModuleList(dir, "order") }

// LoadModuleList loads the modules listed in dir/list (see LoadModules); a missing list loads nothing.
func LoadModuleList(dir, list string) {
	data, err := os.ReadFile(filepath.Join(dir, list))
	if err != nil {
		if !os.IsNotExist(err) {
			log.Printf("modules: %v", err)
		}
		return
	}
	start := time.Now()
	loaded, failed := 0, 0
	for _, line := range strings.Split(string(data), "\n") {
		name := strings.TrimSpace(line)
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		if err := loadModule(filepath.Join(dir, filepath.Base(name))); err != nil {
			log.Printf("module %s: %v", name, err)
			failed++
			continue
		}
		loaded++
	}
	log.Printf("modules (%s): %d loaded, %d failed in %v", list, loaded, failed,
		time.Since(start).Round(time.Millisecond))
}

func loadModule(path string) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	params, _ := syscall.BytePtrFromString("")
	_, _, errno := syscall.Syscall(sysFinitModule, uintptr(fd), uintptr(unsafe.Pointer(params)), 0)
	if errno != 0 && errno != syscall.EEXIST {
		return errno
	}
	return nil
}
