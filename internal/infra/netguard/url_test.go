package netguard_test

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/netguard"
)

func TestCheckURL(t *testing.T) {
	strict := netguard.Policy{}
	private := netguard.Policy{AllowPrivate: true}
	loopCIDR := netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

	tests := []struct {
		name   string
		policy netguard.Policy
		url    string
		want   string // "" for nil, "forbidden" for ErrForbidden, "invalid" for another error
	}{
		// Literal addresses the strict policy refuses.
		{"v4 loopback", strict, "http://127.0.0.1/hook", "forbidden"},
		{"v4 loopback port", strict, "http://127.0.0.1:8080/hook", "forbidden"},
		{"v4 userinfo", strict, "http://user:pass@127.0.0.1/", "forbidden"},
		{"v4 private", strict, "https://10.0.0.1/", "forbidden"},
		{"v4 private 172", strict, "https://172.20.1.1/", "forbidden"},
		{"v4 private 192", strict, "https://192.168.0.10:9000/", "forbidden"},
		{"metadata", strict, "http://169.254.169.254/latest/meta-data/", "forbidden"},
		{"cgnat", strict, "http://100.100.100.200/", "forbidden"},
		{"unspecified", strict, "http://0.0.0.0:8080/", "forbidden"},
		{"multicast", strict, "http://224.0.0.1/", "forbidden"},
		{"broadcast", strict, "http://255.255.255.255/", "forbidden"},
		{"documentation", strict, "http://192.0.2.1/", "forbidden"},
		{"v6 loopback", strict, "https://[::1]:8443/", "forbidden"},
		{"v6 loopback long", strict, "http://[0:0:0:0:0:0:0:1]/", "forbidden"},
		{"v6 unspecified", strict, "http://[::]/", "forbidden"},
		{"v6 mapped", strict, "http://[::ffff:127.0.0.1]/", "forbidden"},
		{"v6 mapped hex", strict, "http://[::ffff:7f00:1]/", "forbidden"},
		{"v6 mapped metadata", strict, "http://[::ffff:a9fe:a9fe]/", "forbidden"},
		{"v6 link-local zone", strict, "http://[fe80::1%25eth0]:80/", "forbidden"},
		{"v6 unique local", strict, "http://[fd00:ec2::254]/", "forbidden"},
		{"v6 multicast", strict, "http://[ff02::1]/", "forbidden"},
		{"nat64 metadata", strict, "http://[64:ff9b::a9fe:a9fe]/", "forbidden"},
		{"6to4 loopback", strict, "http://[2002:7f00:1::1]/", "forbidden"},
		// Odd spellings.
		{"decimal", strict, "http://2130706433/", "forbidden"},
		{"hex", strict, "http://0x7f000001/", "forbidden"},
		{"hex parts", strict, "http://0x7f.1/", "forbidden"},
		{"octal", strict, "http://0177.0.0.1/", "forbidden"},
		{"zero padded", strict, "http://127.000.000.001/", "forbidden"},
		{"short", strict, "http://127.1/", "forbidden"},
		{"trailing dot", strict, "http://127.0.0.1./", "forbidden"},
		{"fullwidth", strict, "http://１２７.０.０.１/", "forbidden"},
		{"fullwidth hex", strict, "http://０ｘ７Ｆ｡１/", "forbidden"},
		{"localhost", strict, "http://localhost:8080/", "forbidden"},
		{"localhost upper dot", strict, "http://LOCALHOST./", "forbidden"},
		{"sub localhost", strict, "http://hooks.localhost/", "forbidden"},
		// Public literals and host names pass.
		{"public v4", strict, "http://8.8.8.8/", ""},
		{"public v4 odd", strict, "http://134744072/", ""}, // 8.8.8.8
		{"public v6", strict, "https://[2606:4700:4700::1111]:443/x", ""},
		{"nat64 public", strict, "https://[64:ff9b::808:808]/", ""},
		{"hostname", strict, "https://example.com/hook", ""},
		{"hostname port", strict, "https://hooks.example.com:8443/hook?x=1", ""},
		{"localhost lookalike", strict, "http://localhost.example.com/", ""},
		{"localhost suffix", strict, "http://mylocalhost/", ""},
		{"not inet_aton", strict, "http://256.256.256.256/", ""},
		{"no host", strict, "/relative/path", ""},
		{"empty", strict, "", ""},
		// Parse failures are not ErrForbidden.
		{"bad bracket", strict, "http://[::1/", "invalid"},
		{"bad escape", strict, "http://%31%32%37.0.0.1/", "invalid"},
		{"space", strict, "http://a b/", "invalid"},
		// AllowPrivate lifts everything but unspecified, multicast, broadcast.
		{"private loopback", private, "http://127.0.0.1:8080/", ""},
		{"private localhost", private, "http://localhost:8080/", ""},
		{"private metadata", private, "http://169.254.169.254/", ""},
		{"private v6 ula", private, "http://[fd00::1]/", ""},
		{"private unspecified", private, "http://0.0.0.0/", "forbidden"},
		{"private v6 unspecified", private, "http://[::]/", "forbidden"},
		{"private multicast", private, "http://239.1.1.1/", "forbidden"},
		{"private broadcast", private, "http://255.255.255.255/", "forbidden"},
		// An allowed CIDR lifts only its own addresses.
		{"cidr loopback", loopCIDR, "http://127.0.0.2/", ""},
		{"cidr localhost", loopCIDR, "http://localhost/", ""},
		{"cidr odd spelling", loopCIDR, "http://0x7f.1/", ""},
		{"cidr v6 loopback", loopCIDR, "http://[::1]/", "forbidden"},
		{"cidr private", loopCIDR, "http://10.0.0.1/", "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.CheckURL(tt.url)
			var got string
			switch {
			case err == nil:
			case errors.Is(err, netguard.ErrForbidden):
				got = "forbidden"
			default:
				got = "invalid"
			}
			if got != tt.want {
				t.Errorf("CheckURL(%q) = %v, want %s", tt.url, err, tt.want)
			}
		})
	}
}

func TestCheckURLMessages(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://127.0.0.1:8080/", "127.0.0.1 is a loopback address"},
		{"http://[::1]/", "::1 is a loopback address"},
		{"http://[fe80::1%25eth0]/", "fe80::1%eth0 is a link-local address"},
		{"http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254 is a link-local address"},
		{"http://[::ffff:a9fe:a9fe]/", `host "::ffff:a9fe:a9fe" means ::ffff:169.254.169.254, which is a link-local address`},
		{"http://0x7f.1/", `host "0x7f.1" means 127.0.0.1, which is a loopback address`},
		{"http://１２７.０.０.１/", `host "１２７.０.０.１" means 127.0.0.1, which is a loopback address`},
		{"http://localhost/", `host "localhost" is a loopback name`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := netguard.Policy{}.CheckURL(tt.url)
			if err == nil || err.Error() != tt.want {
				t.Errorf("CheckURL(%q) = %v, want %q", tt.url, err, tt.want)
			}
		})
	}
}

// TestCheckURLParseError checks that a URL that does not parse yields the
// error of url.Parse.
func TestCheckURLParseError(t *testing.T) {
	err := netguard.Policy{}.CheckURL("http://[::1/")
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("CheckURL = %#v, want a *url.Error", err)
	}
}

func TestCheckURLRefusesAddressesInNonASCIIDigits(t *testing.T) {
	for _, raw := range []string{"http://①②⑦.⓪.⓪.①/", "http://𝟏𝟐𝟕.𝟎.𝟎.𝟏/", "http://⑯⑨.②⑤④.⑯⑨.②⑤④/latest"} {
		for _, p := range []netguard.Policy{{}, {AllowPrivate: true}} {
			if err := p.CheckURL(raw); !errors.Is(err, netguard.ErrForbidden) {
				t.Fatalf("CheckURL(%q) with %+v = %v", raw, p, err)
			}
		}
	}
	if err := (netguard.Policy{}).CheckURL("http://127。0。0。1/"); !errors.Is(err, netguard.ErrForbidden) {
		t.Fatalf("ideographic full stops: %v", err)
	}
	for _, raw := range []string{"http://hooks.example.com/", "http://bücher.example/", "http://1password.com/"} {
		if err := (netguard.Policy{}).CheckURL(raw); err != nil {
			t.Fatalf("CheckURL(%q) = %v", raw, err)
		}
	}
}
