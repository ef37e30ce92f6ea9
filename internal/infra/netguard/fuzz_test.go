package netguard_test

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/netguard"
)

// stdlibForbidden reports whether the standard library's own predicates
// call a non-public: an oracle independent of the package's tables.
func stdlibForbidden(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() ||
		a.IsLinkLocalMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func FuzzCheckURL(f *testing.F) {
	for _, seed := range []string{
		"https://example.com/hook",
		"http://8.8.8.8/",
		"http://127.0.0.1:8080/hook",
		"http://[::1]:8443/",
		"http://[::ffff:127.0.0.1]/",
		"http://[::ffff:7f00:1]/",
		"http://[fe80::1%25eth0]:80/",
		"http://[fd00:ec2::254]/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[64:ff9b::a9fe:a9fe]/",
		"http://[2002:7f00:1::1]/",
		"http://0.0.0.0/",
		"http://[::]/",
		"http://255.255.255.255/",
		"http://224.0.0.1/",
		"http://100.64.0.1/",
		"http://2130706433/",
		"http://0x7f.1/",
		"http://0177.0.0.1/",
		"http://127.1/",
		"http://127.0.0.1./",
		"http://１２７.０.０.１/",
		"http://localhost/",
		"http://a.localhost./",
		"http://user@10.0.0.1:80@evil.example/",
		"http://[::1/",
		"//127.0.0.1/x",
		"127.0.0.1",
		"",
	} {
		f.Add(seed)
	}
	strict := netguard.Policy{}
	private := netguard.Policy{AllowPrivate: true}
	f.Fuzz(func(t *testing.T, raw string) {
		err := strict.CheckURL(raw)
		errPrivate := private.CheckURL(raw)
		// AllowPrivate never refuses what the strict policy allows.
		if errors.Is(errPrivate, netguard.ErrForbidden) && !errors.Is(err, netguard.ErrForbidden) {
			t.Fatalf("CheckURL(%q): AllowPrivate refuses (%v) but the strict policy gives %v", raw, errPrivate, err)
		}
		if err != nil && err.Error() == "" {
			t.Fatalf("CheckURL(%q) returned an error with no message", raw)
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			if err == nil || errors.Is(err, netguard.ErrForbidden) {
				t.Fatalf("CheckURL(%q) = %v for a URL that does not parse (%v)", raw, err, perr)
			}
			return
		}
		a, aerr := netip.ParseAddr(u.Hostname())
		if aerr != nil {
			return
		}
		forbidden := strict.Check(a) != nil
		if forbidden != errors.Is(err, netguard.ErrForbidden) {
			t.Fatalf("CheckURL(%q) = %v, but Check(%s) forbidden = %v", raw, err, a, forbidden)
		}
		if stdlibForbidden(a) && !forbidden {
			t.Fatalf("CheckURL(%q) allows %s, which net/netip calls non-public", raw, a)
		}
		if (a.Unmap().IsUnspecified() || a.Unmap().IsMulticast()) && !errors.Is(errPrivate, netguard.ErrForbidden) {
			t.Fatalf("CheckURL(%q) with AllowPrivate allows %s", raw, a)
		}
	})
}
