// Package netaddr parses and formats the Ethernet and IPv4 addresses of net.configure without the net
// package, whose initialisation (its DNS message tables among it) cost the agent ~10 ms of every boot under
// TCG; net/netip has none.
package netaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// MAC is an Ethernet (EUI-48) address.
type MAC [6]byte

// ParseMAC parses six two-digit hexadecimal groups separated by ':' or '-' (one separator throughout).
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("not an Ethernet MAC address: %q", s)
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return m, fmt.Errorf("not an Ethernet MAC address: %q", s)
	}
	for i := range m {
		if i > 0 && s[3*i-1] != sep {
			return m, fmt.Errorf("not an Ethernet MAC address: %q", s)
		}
		hi, ok1 := hexDigit(s[3*i])
		lo, ok2 := hexDigit(s[3*i+1])
		if !ok1 || !ok2 {
			return m, fmt.Errorf("not an Ethernet MAC address: %q", s)
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String formats m as the kernel does in /sys/class/net/*/address: lower case, ':' separated.
func (m MAC) String() string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i, v := range m {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteByte(digits[v>>4])
		b.WriteByte(digits[v&0xf])
	}
	return b.String()
}

// ErrNotIPv4 is returned for anything but a dotted-quad IPv4 address (an IPv4-mapped IPv6 address included).
var ErrNotIPv4 = errors.New("not an IPv4 address")

// ParseIPv4 parses a dotted-quad IPv4 address.
func ParseIPv4(s string) ([4]byte, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return [4]byte{}, ErrNotIPv4
	}
	return a.As4(), nil
}

// Mask is the IPv4 netmask of a prefix length (0..32).
func Mask(prefixLength int) [4]byte {
	var bits uint32
	if prefixLength > 0 {
		bits = ^uint32(0) << (32 - prefixLength)
	}
	return [4]byte{byte(bits >> 24), byte(bits >> 16), byte(bits >> 8), byte(bits)}
}

// Subnet is the network of addr with that prefix length, as "a.b.c.d/n".
func Subnet(addr [4]byte, prefixLength int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4(addr), prefixLength).Masked()
}
