package api

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/netguard"
)

// FuzzSubscriptionURLPort checks the URL rule on arbitrary ports: a URL
// that parses is accepted exactly when its port is absent or a decimal
// number from 1 to 65535.
func FuzzSubscriptionURLPort(f *testing.F) {
	for _, seed := range []string{"", "1", "443", "65535", "0", "00", "65536", "99999", "-1", "+80", "0x50", "１", "80/x", "18446744073709551617"} {
		f.Add(seed)
	}
	rules := urlRules{targets: netguard.Policy{AllowPrivate: true}}
	f.Fuzz(func(t *testing.T, port string) {
		raw := "https://hooks.example.com:" + port + "/in"
		v := &ValidationError{}
		checkURL(v, raw, rules)
		want := false
		if u, err := url.Parse(raw); err == nil && u.Hostname() == "hooks.example.com" {
			n, convErr := strconv.Atoi(u.Port())
			want = u.Port() == "" || (convErr == nil && n >= 1 && n <= 65535)
		}
		if got := v.orNil() == nil; got != want {
			t.Fatalf("checkURL(%q) accepted %v, want %v: %v", raw, got, want, v.orNil())
		}
	})
}
