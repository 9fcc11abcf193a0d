package server

import (
	"os"
	"syscall"
	"unsafe"

	"microsandbox/agent/internal/protocol"
	"microsandbox/agent/internal/users"
)

// fsCred is the identity a file operation runs with: its fsuid, fsgid and supplementary groups.
type fsCred struct {
	uid, gid uint32
	groups   []uint32
}

// resolveFsUser resolves a request's user for an agent running as euid:egid. switchID reports whether the operation must take on cred on a
// thread of its own; otherwise it runs with the agent's identity, which cred then describes. A root agent
// switches for any identity but root:root; an agent that is not root (development mode) runs as itself and
// refuses any other user (EACCES).
func resolveFsUser(spec string, resolver *users.Resolver, euid, egid int) (cred fsCred, switchID bool, opErr *protocol.OpError) {
	id, err := resolver.Resolve(spec)
	if err != nil {
		return fsCred{}, false, protocol.FieldErrorf(protocol.CodeUser, "user", "%v", err)
	}
	if euid == 0 && (id.Uid != 0 || id.Gid != uint32(egid)) {
		return fsCred{uid: id.Uid, gid: id.Gid, groups: id.Groups}, true, nil
	}
	if id.Uid != uint32(euid) {
		return fsCred{}, false, protocol.FieldErrorf(protocol.CodeAccess, "user",
			"cannot act as user %q: the agent is not root", spec)
	}
	own := fsCred{uid: uint32(euid), gid: uint32(egid)}
	if groups, err := os.Getgroups(); err == nil {
		for _, g := range groups {
			own.groups = append(own.groups, uint32(g))
		}
	}
	return own, false, nil
}

// apply makes c the filesystem identity of the calling thread, which must be locked to its goroutine for
// good. The raw system calls change this thread only (syscall.Setgroups and friends change every thread of
// the process); threads the runtime starts later are cloned from a clean template thread, never from a
// locked one, so the identity cannot spread.
func (c fsCred) apply() error {
	var groups unsafe.Pointer
	if len(c.groups) > 0 {
		groups = unsafe.Pointer(&c.groups[0])
	}
	if _, _, e := syscall.RawSyscall(sysSetgroups, uintptr(len(c.groups)), uintptr(groups), 0); e != 0 {
		return e
	}
	// setfsgid and setfsuid return the previous value and fail silently; an invalid id (-1) reads it back.
	syscall.RawSyscall(sysSetfsgid, uintptr(c.gid), 0, 0)
	if cur, _, _ := syscall.RawSyscall(sysSetfsgid, uintptr(^uint32(0)), 0, 0); uint32(cur) != c.gid {
		return syscall.EPERM
	}
	syscall.RawSyscall(sysSetfsuid, uintptr(c.uid), 0, 0)
	if cur, _, _ := syscall.RawSyscall(sysSetfsuid, uintptr(^uint32(0)), 0, 0); uint32(cur) != c.uid {
		return syscall.EPERM
	}
	return nil
}

// inGroup reports whether gid is the identity's group or one of its supplementary groups.
func (c fsCred) inGroup(gid uint32) bool {
	if gid == c.gid {
		return true
	}
	for _, g := range c.groups {
		if g == gid {
			return true
		}
	}
	return false
}
