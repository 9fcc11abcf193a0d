package netaddr

import (
	"net"
	"testing"
)

func TestParseMACAgreesWithNet(t *testing.T) {
	for _, s := range []string{"52:54:00:12:34:56", "52-54-00-AB-cd-EF", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"} {
		m, err := ParseMAC(s)
		if err != nil {
			t.Fatalf("ParseMAC(%q): %v", s, err)
		}
		want, _ := net.ParseMAC(s)
		if m.String() != want.String() {
			t.Fatalf("ParseMAC(%q) = %s, net says %s", s, m, want)
		}
	}
	for _, s := range []string{"", "52:54:00", "52:54:00:12:34:5g", "52:54-00:12:34:56", "5254.0012.3456", "52:54:00:12:34:56:78", " 52:54:00:12:34:56"} {
		if _, err := ParseMAC(s); err == nil {
			t.Fatalf("ParseMAC(%q) accepted", s)
		}
	}
}

func TestParseIPv4(t *testing.T) {
	if a, err := ParseIPv4("10.0.2.15"); err != nil || a != [4]byte{10, 0, 2, 15} {
		t.Fatalf("ParseIPv4: %v %v", a, err)
	}
	for _, s := range []string{"", "fe80::1", "::ffff:10.0.0.1", "10.0.2", "10.0.2.256", "010.0.2.15"} {
		if _, err := ParseIPv4(s); err == nil {
			t.Fatalf("ParseIPv4(%q) accepted", s)
		}
	}
}

func TestMaskAndSubnet(t *testing.T) {
	for _, n := range []int{0, 1, 8, 24, 30, 32} {
		want := net.CIDRMask(n, 32)
		if got := Mask(n); net.IPMask(got[:]).String() != want.String() {
			t.Fatalf("Mask(%d) = %v, want %v", n, got, want)
		}
	}
	if got := Subnet([4]byte{10, 0, 2, 15}, 24).String(); got != "10.0.2.0/24" {
		t.Fatalf("Subnet = %s", got)
	}
	if !Subnet([4]byte{10, 0, 2, 15}, 24).Contains(Subnet([4]byte{10, 0, 2, 2}, 32).Addr()) {
		t.Fatal("Contains")
	}
}
