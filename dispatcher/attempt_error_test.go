package dispatcher

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/invoiced/invoiced/internal/testing/rawtcp"
)

// anyAddress matches an IPv4 address, a bracketed IPv6 one or the DNS port.
var anyAddress = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[0-9a-fA-F:.]*\]|:53\b`)

// TestAttemptErrorsNameNoInternalAddress makes deliveries fail on a host
// whose lookup fails and on a receiver that resets the connection: every
// attempt's error says what happened plainly, and names neither the
// resolver's address nor the local socket's.
func TestAttemptErrorsNameNoInternalAddress(t *testing.T) {
	tests := []struct {
		name   string
		url    func(t *testing.T) string
		client func(t *testing.T) *http.Client
		want   string
	}{
		{"the resolver unreachable", func(*testing.T) string { return "http://hooks.example.test/in" }, unreachableResolverClient,
			"DNS lookup of hooks.example.test failed"},
		{"connection reset", resettingReceiver, nil, "connection reset by the receiver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			sub := f.subscribe(t, tt.url(t), webhook.EventInvoiceCreated)
			cfg := Config{}
			if tt.client != nil {
				cfg.Client = tt.client(t)
			}
			f.start(t, cfg)
			ev := f.invoiceEvents(t)[0]
			rec := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)
			for _, a := range rec.Attempts {
				if a.Error != tt.want || anyAddress.MatchString(a.Error) {
					t.Fatalf("attempt %d: error %q, want %q", a.Number, a.Error, tt.want)
				}
			}
		})
	}
}

// unreachableResolverClient is a client on the guarded transport whose
// lookups go to a UDP port nothing listens on.
func unreachableResolverClient(t *testing.T) *http.Client {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	p := netguard.Policy{AllowPrivate: true}
	d := netguard.NewDialer(p, time.Second)
	d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "udp", closed)
	}}
	tr := netguard.Transport(p, time.Second)
	tr.DialContext = d.DialContext
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// resettingReceiver returns the URL of a receiver on loopback that reads
// each request and resets the connection instead of answering.
func resettingReceiver(t *testing.T) string {
	return rawtcp.Server(t, rawtcp.Reset) + "/hook"
}
