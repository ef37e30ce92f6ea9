package netguard_test

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/netguard"
)

// Verdict classes of the address table.
const (
	public  = "public"  // allowed by every policy
	private = "private" // forbidden unless AllowPrivate (or an allowed CIDR)
	never   = "never"   // forbidden by every policy
)

type addrCase struct {
	addr   string
	class  string
	reason string // substring of the error message; "" for public
}

// v4Cases are IPv4 addresses; each is also checked in its IPv4-mapped,
// NAT64 and 6to4 forms, which must get the same verdict.
var v4Cases = []addrCase{
	{"127.0.0.1", private, "a loopback address"},
	{"127.255.255.254", private, "a loopback address"},
	{"10.0.0.1", private, "a private address"},
	{"10.255.255.255", private, "a private address"},
	{"172.16.0.1", private, "a private address"},
	{"172.31.255.255", private, "a private address"},
	{"192.168.1.1", private, "a private address"},
	{"169.254.169.254", private, "a link-local address"},
	{"169.254.0.1", private, "a link-local address"},
	{"100.64.0.1", private, "carrier-grade NAT"},
	{"100.127.255.255", private, "carrier-grade NAT"},
	{"192.0.0.8", private, "IETF protocol assignment"},
	{"192.0.2.1", private, "a documentation address"},
	{"198.51.100.7", private, "a documentation address"},
	{"203.0.113.9", private, "a documentation address"},
	{"198.18.0.1", private, "a benchmarking address"},
	{"198.19.255.255", private, "a benchmarking address"},
	{"192.88.99.1", private, "6to4 relay"},
	{"240.0.0.1", private, "a reserved address"},
	{"255.255.255.254", private, "a reserved address"},
	{"0.0.0.0", never, "the unspecified address"},
	{"0.1.2.3", never, `"this network"`},
	{"224.0.0.1", never, "a multicast address"},
	{"239.255.255.250", never, "a multicast address"},
	{"255.255.255.255", never, "the broadcast address"},

	{"8.8.8.8", public, ""},
	{"1.1.1.1", public, ""},
	{"93.184.215.14", public, ""},
	{"9.255.255.255", public, ""},
	{"11.0.0.0", public, ""},
	{"100.63.255.255", public, ""},
	{"100.128.0.0", public, ""},
	{"126.255.255.255", public, ""},
	{"128.0.0.0", public, ""},
	{"169.253.255.255", public, ""},
	{"169.255.0.0", public, ""},
	{"172.15.255.255", public, ""},
	{"172.32.0.0", public, ""},
	{"192.167.255.255", public, ""},
	{"192.169.0.0", public, ""},
	{"198.17.255.255", public, ""},
	{"198.20.0.0", public, ""},
	{"223.255.255.255", public, ""},
}

// v6Cases are IPv6 addresses checked as written.
var v6Cases = []addrCase{
	{"::1", private, "a loopback address"},
	{"fc00::1", private, "a unique local address"},
	{"fd00:ec2::254", private, "a unique local address"},
	{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", private, "a unique local address"},
	{"fe80::1", private, "a link-local address"},
	{"fe80::1%eth0", private, "a link-local address"},
	{"febf::1", private, "a link-local address"},
	{"fec0::1", private, "a site-local address"},
	{"64:ff9b:1::a00:1", private, "local-use NAT64"},
	{"2001:db8::1", private, "a documentation address"},
	{"3fff::1", private, "a documentation address"},
	{"2001::1", private, "a Teredo address"},
	{"2001:2::1", private, "a benchmarking address"},
	{"2001:10::1", private, "ORCHID"},
	{"2001:20::1", private, "ORCHIDv2"},
	{"100::1", private, "a discard-only address"},
	{"::7f00:1", private, "IPv4-compatible"},
	{"::ffff:0:7f00:1", private, "outside the IPv6 global unicast range"},
	{"4000::1", private, "outside the IPv6 global unicast range"},
	{"5f00::1", private, "outside the IPv6 global unicast range"},
	{"::", never, "the unspecified address"},
	{"ff02::1", never, "a multicast address"},
	{"ff05::1:3", never, "a multicast address"},
	{"ff0e::101", never, "a multicast address"},

	{"2606:4700:4700::1111", public, ""},
	{"2001:4860:4860::8888", public, ""},
	{"2001:200::1", public, ""},
	{"2a00:1450:4001::1", public, ""},
	{"3ffe:ffff::1", public, ""},
	{"2000::", public, ""},
	{"2002:808:808::1", public, ""}, // 6to4 of 8.8.8.8
}

// forms returns c with its derived IPv6 forms.
func forms(c addrCase) []addrCase {
	a := netip.MustParseAddr(c.addr)
	if !a.Is4() {
		return []addrCase{c}
	}
	b := a.As4()
	var nat64 [16]byte
	copy(nat64[:], netip.MustParseAddr("64:ff9b::").AsSlice())
	copy(nat64[12:], b[:])
	sixToFour := [16]byte{0x20, 0x02, b[0], b[1], b[2], b[3], 15: 1}
	return []addrCase{
		c,
		{"::ffff:" + c.addr, c.class, c.reason},
		{fmt.Sprintf("::ffff:%x:%x", uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3])), c.class, c.reason},
		{netip.AddrFrom16(nat64).String(), c.class, c.reason},
		{netip.AddrFrom16(sixToFour).String(), c.class, c.reason},
	}
}

func allCases() []addrCase {
	var out []addrCase
	for _, c := range v4Cases {
		out = append(out, forms(c)...)
	}
	return append(out, v6Cases...)
}

func checkVerdict(t *testing.T, p netguard.Policy, c addrCase, wantForbidden bool) {
	t.Helper()
	a, err := netip.ParseAddr(c.addr)
	if err != nil {
		t.Fatalf("bad test address %q: %v", c.addr, err)
	}
	err = p.Check(a)
	if !wantForbidden {
		if err != nil {
			t.Fatalf("Check(%s) = %v, want nil", c.addr, err)
		}
		return
	}
	if !errors.Is(err, netguard.ErrForbidden) {
		t.Fatalf("Check(%s) = %v, want ErrForbidden", c.addr, err)
	}
	var fe *netguard.ForbiddenError
	if !errors.As(err, &fe) || fe.Addr != a {
		t.Fatalf("Check(%s) = %#v, want a *ForbiddenError for the address", c.addr, err)
	}
	msg, head := err.Error(), a.String()+" is "
	if !strings.HasPrefix(msg, head) || !strings.Contains(msg, c.reason) {
		t.Errorf("Check(%s) message %q, want it to start with %q and contain %q", c.addr, msg, head, c.reason)
	}
}

func TestCheckDefaultPolicy(t *testing.T) {
	for _, c := range allCases() {
		t.Run(c.addr, func(t *testing.T) {
			checkVerdict(t, netguard.Policy{}, c, c.class != public)
		})
	}
}

func TestCheckAllowPrivate(t *testing.T) {
	p := netguard.Policy{AllowPrivate: true}
	for _, c := range allCases() {
		t.Run(c.addr, func(t *testing.T) {
			checkVerdict(t, p, c, c.class == never)
		})
	}
}

func TestCheckAllowCIDRs(t *testing.T) {
	p := netguard.Policy{AllowCIDRs: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("fd00:ec2::/32"),
	}}
	tests := []struct {
		addr      string
		forbidden bool
	}{
		{"127.0.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"10.1.2.3", false},
		{"::ffff:10.1.2.3", false},
		{"64:ff9b::a01:203", false}, // NAT64 of 10.1.2.3: judged by the IPv4
		{"fd00:ec2::254", false},
		{"fd00:ec3::254", true},
		{"::1", true},
		{"fe80::1", true},
		{"0.0.0.0", true},
		{"224.0.0.1", true},
		{"255.255.255.255", true},
		{"ff02::1", true},
		{"::", true},
		{"8.8.8.8", false},
		{"10.2.0.1", true},
		{"192.168.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := p.Check(netip.MustParseAddr(tt.addr))
			if got := errors.Is(err, netguard.ErrForbidden); got != tt.forbidden {
				t.Errorf("Check(%s) = %v, want forbidden %v", tt.addr, err, tt.forbidden)
			}
		})
	}
	// The widest allowed CIDR still never lifts the "never" class.
	wide := netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}
	for _, c := range v4Cases {
		t.Run("wide/"+c.addr, func(t *testing.T) {
			checkVerdict(t, wide, c, c.class == never)
		})
	}
	for _, addr := range []string{"::1", "fd00::1"} {
		t.Run("wide/"+addr, func(t *testing.T) {
			if err := wide.Check(netip.MustParseAddr(addr)); !errors.Is(err, netguard.ErrForbidden) {
				t.Errorf("Check(%s) = %v, want ErrForbidden", addr, err)
			}
		})
	}
}

func TestCheckInvalidAddr(t *testing.T) {
	for _, p := range []netguard.Policy{{}, {AllowPrivate: true}} {
		err := p.Check(netip.Addr{})
		if !errors.Is(err, netguard.ErrForbidden) {
			t.Errorf("%+v.Check(zero Addr) = %v, want ErrForbidden", p, err)
		}
	}
}

func TestForbiddenErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{netguard.Policy{}.Check(netip.MustParseAddr("127.0.0.1")), "127.0.0.1 is a loopback address"},
		{netguard.Policy{}.Check(netip.MustParseAddr("::ffff:169.254.169.254")), "::ffff:169.254.169.254 is a link-local address"},
		{netguard.Policy{}.Check(netip.MustParseAddr("64:ff9b::7f00:1")), "64:ff9b::7f00:1 is a NAT64 address embedding 127.0.0.1, which is a loopback address"},
		{&netguard.ForbiddenError{Host: "0x7f.1", Addr: netip.MustParseAddr("127.0.0.1"), Reason: "a loopback address"}, `host "0x7f.1" means 127.0.0.1, which is a loopback address`},
		{&netguard.ForbiddenError{Host: "localhost", Reason: "a loopback name"}, `host "localhost" is a loopback name`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.err == nil || tt.err.Error() != tt.want {
				t.Errorf("message = %v, want %q", tt.err, tt.want)
			}
		})
	}
}

func TestParseCIDRs(t *testing.T) {
	pp := netip.MustParsePrefix
	good := []struct {
		in   string
		want []netip.Prefix
	}{
		{"", nil},
		{" , ,", nil},
		{"10.0.0.0/8", []netip.Prefix{pp("10.0.0.0/8")}},
		{"10.1.0.0/16, fd00::/8 ,127.0.0.0/8,", []netip.Prefix{pp("10.1.0.0/16"), pp("fd00::/8"), pp("127.0.0.0/8")}},
		{"10.1.2.3", []netip.Prefix{pp("10.1.2.3/32")}},
		{"fd00::5", []netip.Prefix{pp("fd00::5/128")}},
		{"::ffff:10.0.0.0/104", []netip.Prefix{pp("10.0.0.0/8")}},
		{"::ffff:127.0.0.1", []netip.Prefix{pp("127.0.0.1/32")}},
		{"0.0.0.0/0,::/0", []netip.Prefix{pp("0.0.0.0/0"), pp("::/0")}},
	}
	for _, tt := range good {
		t.Run("good/"+tt.in, func(t *testing.T) {
			got, err := netguard.ParseCIDRs(tt.in)
			if err != nil {
				t.Fatalf("ParseCIDRs(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCIDRs(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if err := (netguard.Policy{AllowCIDRs: got}).Validate(); err != nil {
				t.Errorf("Validate of ParseCIDRs(%q): %v", tt.in, err)
			}
		})
	}
	bad := []struct{ in, want string }{
		{"10.0.0.0/33", "not a CIDR prefix"},
		{"10.0.0.0/8,nonsense", `"nonsense"`},
		{"10.0.0.1/8", "did you mean 10.0.0.0/8?"},
		{"fd00::1/8", "did you mean fd00::/8?"},
		{"fe80::1%eth0", "neither a CIDR prefix nor an IP address"},
		{"::ffff:0:0/95", "wider than the IPv4-mapped range"},
		{"224.0.0.0/4", "multicast"},
		{"239.1.0.0/16", "multicast"},
		{"ff00::/12", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"0.0.0.0/8", "this network"},
		{"::/128", "unspecified"},
		{"localhost", "neither"},
		{"10.0.0.0 /8", "not a CIDR prefix"},
	}
	for _, tt := range bad {
		t.Run("bad/"+tt.in, func(t *testing.T) {
			got, err := netguard.ParseCIDRs(tt.in)
			if err == nil {
				t.Fatalf("ParseCIDRs(%q) = %v, want an error", tt.in, got)
			}
			if errors.Is(err, netguard.ErrForbidden) {
				t.Errorf("ParseCIDRs(%q) error wraps ErrForbidden: %v", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCIDRs(%q) = %v, want it to mention %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	pp := netip.MustParsePrefix
	tests := []struct {
		cidrs []netip.Prefix
		want  string // "" for valid
	}{
		{nil, ""},
		{[]netip.Prefix{pp("10.0.0.0/8"), pp("fd00::/8")}, ""},
		{[]netip.Prefix{pp("10.0.0.0/8"), {}}, "AllowCIDRs[1] (invalid Prefix) is not a valid prefix"},
		{[]netip.Prefix{pp("10.0.0.1/8")}, "AllowCIDRs[0] (10.0.0.1/8) has host bits set; did you mean 10.0.0.0/8?"},
		{[]netip.Prefix{pp("::ffff:10.0.0.0/104")}, "IPv4-mapped"},
		{[]netip.Prefix{pp("224.0.0.0/8")}, "multicast"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			err := netguard.Policy{AllowCIDRs: tt.cidrs}.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate(%v) = %v, want nil", tt.cidrs, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate(%v) = %v, want an error mentioning %q", tt.cidrs, err, tt.want)
			}
		})
	}
}
