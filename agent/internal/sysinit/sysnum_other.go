//go:build !amd64 && !arm64

package sysinit

// sysFinitModule is unknown on this architecture: module loading fails with ENOSYS.
const sysFinitModule = ^uintptr(0)
