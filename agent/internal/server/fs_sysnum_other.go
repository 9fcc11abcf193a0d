//go:build !amd64 && !arm64

package server

// Unknown numbers on this architecture: the calls fail with ENOSYS, so switching to another user fails
// (EIO), `created` is omitted and `readonly` is computed from the mode bits.
const (
	sysSetgroups = ^uintptr(0)
	sysSetfsuid  = ^uintptr(0)
	sysSetfsgid  = ^uintptr(0)
	sysStatx     = ^uintptr(0)
	sysFaccessat = ^uintptr(0)
)
