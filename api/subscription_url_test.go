package api

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/netguard"
)

func TestSubscriptionURLRules(t *testing.T) {
	strict := urlRules{}
	httpsOnly := urlRules{requireHTTPS: true}
	private := urlRules{targets: netguard.Policy{AllowPrivate: true}}
	office := urlRules{targets: netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}}
	tests := []struct {
		name  string
		url   string
		rules urlRules
		ok    bool
	}{
		{"public host", "https://hooks.example.com/in", strict, true},
		{"public address", "http://93.184.216.34/in", strict, true},
		{"loopback", "http://127.0.0.1:9000/webhook", strict, false},
		{"loopback name", "http://localhost:9000/webhook", strict, false},
		{"IPv6 loopback", "http://[::1]:9000/", strict, false},
		{"private 10/8", "http://10.0.0.5/", strict, false},
		{"private 172.16/12", "http://172.20.1.1/", strict, false},
		{"private 192.168/16", "http://192.168.1.1/", strict, false},
		{"unique local", "http://[fd00::1]/", strict, false},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data", strict, false},
		{"IPv6 metadata", "http://[fd00:ec2::254]/", strict, false},
		{"link-local v6", "http://[fe80::1]/", strict, false},
		{"CGNAT", "http://100.64.0.1/", strict, false},
		{"multicast", "http://224.0.0.1/", strict, false},
		{"unspecified", "http://0.0.0.0:8080/", strict, false},
		{"mapped loopback", "http://[::ffff:127.0.0.1]/", strict, false},
		{"decimal loopback", "http://2130706433/", strict, false},
		{"loopback when private is allowed", "http://127.0.0.1:9000/webhook", private, true},
		{"unspecified even when private is allowed", "http://0.0.0.0/", private, false},
		{"an allowed network", "http://10.1.2.3/", office, true},
		{"outside the allowed network", "http://10.2.0.1/", office, false},
		{"plain http when https is required", "http://hooks.example.com/in", httpsOnly, false},
		{"https when https is required", "https://hooks.example.com/in", httpsOnly, true},
		{"credentials in the URL", "https://user:pw@hooks.example.com/", strict, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url
			err := subscriptionBody{URL: &url}.validate(true, tt.rules)
			if (err == nil) != tt.ok {
				t.Fatalf("validate(%q) = %v, want ok %v", tt.url, err, tt.ok)
			}
			var v *ValidationError
			if err != nil && (!errors.As(err, &v) || v.Fields[0].Field != "url") {
				t.Fatalf("error %v does not name the url", err)
			}
		})
	}
}
