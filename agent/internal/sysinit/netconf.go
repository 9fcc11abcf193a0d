//go:build linux

package sysinit

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"microsandbox/agent/internal/netaddr"
	"microsandbox/agent/internal/protocol"
)

// ConfigureNet implements server.System: loopback up, then (when the request names an interface) the NIC's
// MTU, address and default route, then the resolv.conf and hosts files. The request is already validated.
func (g *Guest) ConfigureNet(req *protocol.NetConfigure) *protocol.OpError {
	if err := LoopbackUp(); err != nil {
		return protocol.Errorf(protocol.CodeIO, "loopback: %v", err)
	}
	if req.Interface != nil {
		if err := configureInterface(req.Interface); err != nil {
			return err
		}
	}
	return g.setNetFiles(&protocol.NetFiles{ResolvConf: req.ResolvConf, Hosts: req.Hosts})
}

// setNetFiles installs the files (bind mounts of a private tmpfs) the first time, and later replaces their
// contents through the tmpfs kept open: nothing is mounted again (template.resume).
func (g *Guest) setNetFiles(files *protocol.NetFiles) *protocol.OpError {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.netStage != nil {
		if err := rewriteNetFiles(g.netStage, files); err != nil {
			return protocol.Errorf(protocol.CodeIO, "%v", err)
		}
		return nil
	}
	stage, err := installNetFiles(files)
	if err != nil {
		return protocol.Errorf(protocol.CodeIO, "%v", err)
	}
	g.netStage = stage
	return nil
}

// findInterface returns the name of the interface with MAC address mac (as /sys/class/net shows it), waiting
// up to timeout for it.
func findInterface(mac string, timeout time.Duration) (string, error) {
	want, err := netaddr.ParseMAC(mac)
	if err != nil {
		return "", err
	}
	deadline := time.Now().Add(timeout)
	for {
		entries, err := os.ReadDir("/sys/class/net")
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			address, err := os.ReadFile("/sys/class/net/" + e.Name() + "/address")
			if err == nil && strings.TrimSpace(string(address)) == want.String() {
				return e.Name(), nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no interface with MAC %s", mac)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func configureInterface(spec *protocol.NetInterface) *protocol.OpError {
	name, err := findInterface(spec.Mac, 2*time.Second)
	if err != nil {
		return protocol.FieldErrorf(protocol.CodeNoDevice, "interface.mac", "interface: %v", err)
	}
	// Validated by the server: parse errors cannot happen here.
	addr, _ := netaddr.ParseIPv4(spec.Address)
	gw, _ := netaddr.ParseIPv4(spec.Gateway)
	mask := netaddr.Mask(spec.PrefixLength)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return protocol.Errorf(protocol.CodeIO, "socket: %v", err)
	}
	defer syscall.Close(fd)
	steps := []struct {
		what string
		run  func() error
	}{
		{"mtu", func() error { return setIfInt(fd, name, syscall.SIOCSIFMTU, int32(spec.Mtu)) }},
		{"address", func() error { return setIfAddr(fd, name, syscall.SIOCSIFADDR, addr) }},
		{"netmask", func() error { return setIfAddr(fd, name, syscall.SIOCSIFNETMASK, mask) }},
		{"up", func() error { return setIfUp(fd, name) }},
		{"default route", func() error { return addDefaultRoute(fd, name, gw) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return protocol.Errorf(protocol.CodeIO, "%s %s: %v", name, s.what, err)
		}
	}
	return nil
}

// ifreq is struct ifreq: the name, then a 24-byte union.
type ifreq struct {
	name [syscall.IFNAMSIZ]byte
	data [24]byte
}

func newIfreq(name string) *ifreq {
	var r ifreq
	copy(r.name[:syscall.IFNAMSIZ-1], name)
	return &r
}

func setIfInt(fd int, name string, req uintptr, value int32) error {
	r := newIfreq(name)
	*(*int32)(unsafe.Pointer(&r.data[0])) = value
	return ioctl(fd, req, unsafe.Pointer(r))
}

func sockaddrIn(ip [4]byte) syscall.RawSockaddrInet4 {
	return syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ip}
}

func setIfAddr(fd int, name string, req uintptr, ip [4]byte) error {
	r := newIfreq(name)
	*(*syscall.RawSockaddrInet4)(unsafe.Pointer(&r.data[0])) = sockaddrIn(ip)
	return ioctl(fd, req, unsafe.Pointer(r))
}

func setIfUp(fd int, name string) error {
	r := newIfreq(name)
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, unsafe.Pointer(r)); err != nil {
		return err
	}
	flags := (*uint16)(unsafe.Pointer(&r.data[0]))
	*flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	return ioctl(fd, syscall.SIOCSIFFLAGS, unsafe.Pointer(r))
}

// rtentry is struct rtentry of 64-bit Linux (SIOCADDRT).
type rtentry struct {
	pad1    uint64
	dst     syscall.RawSockaddrInet4
	gateway syscall.RawSockaddrInet4
	genmask syscall.RawSockaddrInet4
	flags   uint16
	pad2    int16
	pad3    uint64
	pad4    uintptr
	metric  int16
	dev     *byte
	mtu     uint64
	window  uint64
	irtt    uint16
}

func addDefaultRoute(fd int, name string, gw [4]byte) error {
	dev := append([]byte(name), 0)
	rt := rtentry{
		dst:     sockaddrIn([4]byte{}),
		gateway: sockaddrIn(gw),
		genmask: sockaddrIn([4]byte{}),
		flags:   syscall.RTF_UP | syscall.RTF_GATEWAY,
		dev:     &dev[0],
	}
	err := ioctl(fd, syscall.SIOCADDRT, unsafe.Pointer(&rt))
	if err == syscall.EEXIST {
		return nil
	}
	return err
}
