package sysinit

// sysFinitModule is finit_module(2) on x86_64 (Go 1.19's syscall package does not declare it for amd64).
const sysFinitModule = 313
