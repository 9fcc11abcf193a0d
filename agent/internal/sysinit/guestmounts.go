//go:build linux

package sysinit

import (
	"fmt"
	"log"
	"syscall"
	"time"

	"microsandbox/agent/internal/protocol"
)

// virtiofsModules is the initramfs list of the modules virtio-fs needs (fuse, virtiofs), loaded only when
// init carries a virtiofs mount: each costs boot time, and they must be loaded before the root switch (the
// initramfs holding them is emptied by it).
const virtiofsModules = "virtiofs.order"

// hasVirtiofs reports whether any mount is a virtio-fs share.
func hasVirtiofs(mounts []protocol.GuestMount) bool {
	for _, m := range mounts {
		if m.Kind == protocol.MountVirtiofs {
			return true
		}
	}
	return false
}

// mountGuest makes each mount in plan order in the current root (the root disk once switched), creating the
// targets. The error names the mount's field and target.
func mountGuest(mounts []protocol.GuestMount) *protocol.OpError {
	start := time.Now()
	for i := range mounts {
		m := &mounts[i]
		if err := mountOne(m); err != nil {
			return protocol.FieldErrorf(protocol.CodeIO, fmt.Sprintf("mounts[%d]", i), "mount %s (%s): %v",
				m.Target, m.Kind, err)
		}
	}
	if len(mounts) > 0 {
		log.Printf("mounts: %d made in %v", len(mounts), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func mountOne(m *protocol.GuestMount) error {
	var flags uintptr
	if m.Readonly {
		flags |= syscall.MS_RDONLY
	}
	spec := mountSpec{target: m.Target, flags: flags}
	switch m.Kind {
	case protocol.MountVirtiofs:
		spec.source, spec.fstype = m.Tag, "virtiofs"
	case protocol.MountDisk:
		dev, err := findDisk(m.Serial, diskWait)
		if err != nil {
			return err
		}
		spec.source, spec.fstype = dev, defaultFstype
	case protocol.MountTmpfs:
		spec.source, spec.fstype = "tmpfs", "tmpfs"
		spec.flags |= nosuid | nodev
		spec.data = "mode=1777"
		if m.SizeMib != nil {
			spec.data += fmt.Sprintf(",size=%dm", *m.SizeMib)
		}
	default:
		return fmt.Errorf("unknown kind %q", m.Kind)
	}
	return mountFresh(spec)
}

// mountFresh is doMount without its tolerance of EBUSY: a mount that did not happen is an error here.
func mountFresh(m mountSpec) error {
	if err := mkdirAllTarget(m.target); err != nil {
		return err
	}
	if err := syscall.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
		if err == syscall.ENODEV {
			return fmt.Errorf("%w (the guest kernel has no %s filesystem)", err, m.fstype)
		}
		return err
	}
	return nil
}
