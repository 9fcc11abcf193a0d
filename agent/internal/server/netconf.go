package server

import (
	"net/netip"
	"strings"

	"microsandbox/agent/internal/netaddr"
	"microsandbox/agent/internal/protocol"
)

// maxNetFile bounds the generated resolv.conf and hosts files.
const maxNetFile = 64 * 1024

// netConfigure runs the net.configure operation (once per boot; once per connection in development mode).
func (c *conn) netConfigure(sess *session, id uint32, req *protocol.NetConfigure) {
	sess.finish(id, c.netConfigureResult(req))
}

// netConfigureResult performs net.configure and returns its terminal message.
func (c *conn) netConfigureResult(req *protocol.NetConfigure) any {
	srv := c.srv
	srv.initMu.Lock()
	defer srv.initMu.Unlock()
	done := &srv.netDone
	if srv.opts.PerConnection {
		done = &c.netDone
	}
	if *done {
		return protocol.Errorf(protocol.CodeAlready, "network already configured").Msg()
	}
	if err := ValidateNetConfigure(req); err != nil {
		return err.Msg()
	}
	if err := srv.opts.System.ConfigureNet(req); err != nil {
		return err.Msg()
	}
	*done = true
	// Like init, a set-up operation: its completion is init.done.
	return protocol.Simple{Type: protocol.TypeInitDone}
}

// ValidateNetConfigure checks every field of a net.configure request; the error names the field.
func ValidateNetConfigure(req *protocol.NetConfigure) *protocol.OpError {
	for name, text := range map[string]string{"resolvConf": req.ResolvConf, "hosts": req.Hosts} {
		if len(text) > maxNetFile || strings.ContainsRune(text, 0) {
			return protocol.FieldErrorf(protocol.CodeInvalid, name, "%s: must be at most %d bytes without NUL", name, maxNetFile)
		}
	}
	i := req.Interface
	if i == nil {
		return nil
	}
	if _, err := netaddr.ParseMAC(i.Mac); err != nil {
		return protocol.FieldErrorf(protocol.CodeInvalid, "interface.mac", "interface.mac: not an Ethernet MAC address: %q", i.Mac)
	}
	if i.PrefixLength < 1 || i.PrefixLength > 30 {
		return protocol.FieldErrorf(protocol.CodeInvalid, "interface.prefixLength", "interface.prefixLength: must be 1..30, got %d", i.PrefixLength)
	}
	if i.Mtu < 576 || i.Mtu > 65535 {
		return protocol.FieldErrorf(protocol.CodeInvalid, "interface.mtu", "interface.mtu: must be 576..65535, got %d", i.Mtu)
	}
	addr, err := netaddr.ParseIPv4(i.Address)
	if err != nil {
		return protocol.FieldErrorf(protocol.CodeInvalid, "interface.address", "interface.address: not an IPv4 address: %q", i.Address)
	}
	gw, err := netaddr.ParseIPv4(i.Gateway)
	if err != nil {
		return protocol.FieldErrorf(protocol.CodeInvalid, "interface.gateway", "interface.gateway: not an IPv4 address: %q", i.Gateway)
	}
	subnet := netaddr.Subnet(addr, i.PrefixLength)
	if !subnet.Contains(netip.AddrFrom4(gw)) || gw == addr {
		return protocol.FieldErrorf(protocol.CodeInvalid, "interface.gateway", "interface.gateway: %s is not another address of %s", netip.AddrFrom4(gw), subnet)
	}
	return nil
}
