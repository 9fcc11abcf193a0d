package server

import (
	"strings"
	"testing"
	"time"

	"microsandbox/agent/internal/protocol"
)

func goodNetIface() *protocol.NetInterface {
	return &protocol.NetInterface{Mac: "52:54:00:12:34:56", Address: "10.0.2.15", PrefixLength: 24, Gateway: "10.0.2.2", Mtu: 1500}
}

func TestValidateNetConfigureAccepts(t *testing.T) {
	for _, req := range []*protocol.NetConfigure{
		{Type: "net.configure", ResolvConf: "nameserver 10.0.2.3\n", Hosts: "127.0.0.1 localhost\n"},
		{Type: "net.configure", Interface: goodNetIface()},
	} {
		if err := ValidateNetConfigure(req); err != nil {
			t.Errorf("%+v: unexpected %v", req, err)
		}
	}
}

func TestValidateNetConfigureRejects(t *testing.T) {
	cases := map[string]func(*protocol.NetConfigure){
		"interface.mac":          func(r *protocol.NetConfigure) { r.Interface.Mac = "52:54:00" },
		"interface.prefixLength": func(r *protocol.NetConfigure) { r.Interface.PrefixLength = 31 },
		"interface.mtu":          func(r *protocol.NetConfigure) { r.Interface.Mtu = 100 },
		"interface.address":      func(r *protocol.NetConfigure) { r.Interface.Address = "fe80::1" },
		"interface.gateway":      func(r *protocol.NetConfigure) { r.Interface.Gateway = "10.0.3.2" },
		"resolvConf":             func(r *protocol.NetConfigure) { r.ResolvConf = "a\x00b" },
		"hosts":                  func(r *protocol.NetConfigure) { r.Hosts = strings.Repeat("x", maxNetFile+1) },
	}
	for field, mutate := range cases {
		req := &protocol.NetConfigure{Type: "net.configure", Interface: goodNetIface()}
		mutate(req)
		err := ValidateNetConfigure(req)
		if err == nil || err.Code != protocol.CodeInvalid || !strings.HasPrefix(err.Message, field+":") {
			t.Errorf("%s: got %v", field, err)
		}
	}
	same := &protocol.NetConfigure{Type: "net.configure", Interface: goodNetIface()}
	same.Interface.Gateway = same.Interface.Address
	if err := ValidateNetConfigure(same); err == nil {
		t.Error("gateway equal to the address was accepted")
	}
}

func TestNetConfigureInDevelopmentMode(t *testing.T) {
	c, _ := newHarness(t, DevSystem{})
	id := c.open(protocol.NetConfigure{Type: "net.configure"})
	expectError(t, c.wait(id, 5*time.Second), "EINVAL", "net.configure")
}
