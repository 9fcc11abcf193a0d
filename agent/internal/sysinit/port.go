//go:build linux

package sysinit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FindPort waits up to timeout for the virtio-serial port called name (listed under
// /sys/class/virtio-ports/*/name; there is no udev) and opens its /dev node read-write.
func FindPort(name string, timeout time.Duration) (*os.File, error) {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		matches, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil || strings.TrimSpace(string(b)) != name {
				continue
			}
			dev := "/dev/" + filepath.Base(filepath.Dir(m))
			f, err := os.OpenFile(dev, os.O_RDWR, 0)
			if err == nil {
				return f, nil
			}
			lastErr = err
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				return nil, fmt.Errorf("virtio port %q: %w", name, lastErr)
			}
			return nil, fmt.Errorf("virtio port %q not found within %v", name, timeout)
		}
		time.Sleep(2 * time.Millisecond) // the port appears a moment after the driver: this is on every boot's path
	}
}
