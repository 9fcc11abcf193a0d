package server

import "syscall"

// System calls the fs operations make raw (Go 1.19's syscall package wraps them differently, or not at all).
const (
	sysSetgroups = syscall.SYS_SETGROUPS // 32-bit gids
	sysSetfsuid  = syscall.SYS_SETFSUID
	sysSetfsgid  = syscall.SYS_SETFSGID
	sysStatx     = 332
	sysSyncfs    = 306
	sysFaccessat = 439 // faccessat2
)
