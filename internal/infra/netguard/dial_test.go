package netguard_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/netguard"
)

// receiver is a webhook receiver on loopback that counts the connections
// it accepts and the requests it serves.
type receiver struct {
	srv   *httptest.Server
	conns atomic.Int64
	hits  atomic.Int64
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rc.hits.Add(1)
		io.WriteString(w, "ok")
	}))
	// The accept loop reports StateNew before accepting the next
	// connection, so once a later request has been answered every earlier
	// connection has been counted.
	rc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.conns.Add(1)
		}
	}
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)
	return rc
}

// addr returns the receiver's address.
func (rc *receiver) addr(t *testing.T) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(rc.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// port returns the receiver's port as a string.
func (rc *receiver) port(t *testing.T) string {
	t.Helper()
	_, port, err := net.SplitHostPort(rc.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// settle makes one allowed request (through a plain transport) and then
// checks the receiver has accepted exactly wantConns connections and served
// wantHits requests in all, that one included.
func (rc *receiver) settle(t *testing.T, wantConns, wantHits int64) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(rc.srv.URL)
	if err != nil {
		t.Fatalf("settling request: %v", err)
	}
	resp.Body.Close()
	if c, h := rc.conns.Load(), rc.hits.Load(); c != wantConns || h != wantHits {
		t.Errorf("receiver saw %d connections and %d requests, want %d and %d", c, h, wantConns, wantHits)
	}
}

func client(t *testing.T, p netguard.Policy) *http.Client {
	t.Helper()
	tr := netguard.Transport(p, 5*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// wantRefused checks that err is a refused dial as an http.Client reports
// it, and returns the ForbiddenError in it.
func wantRefused(t *testing.T, err error) *netguard.ForbiddenError {
	t.Helper()
	if !errors.Is(err, netguard.ErrForbidden) {
		t.Fatalf("request error = %v, want ErrForbidden", err)
	}
	var ue *url.Error
	var oe *net.OpError
	var fe *netguard.ForbiddenError
	if !errors.As(err, &ue) || !errors.As(err, &oe) || oe.Op != "dial" || !errors.As(err, &fe) {
		t.Fatalf("request error = %#v, want *url.Error > *net.OpError (dial) > *ForbiddenError", err)
	}
	return fe
}

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestTransportRefusesLoopback(t *testing.T) {
	rc := newReceiver(t)
	_, err := get(client(t, netguard.Policy{}), rc.srv.URL+"/hook")
	fe := wantRefused(t, err)
	if fe.Addr != rc.addr(t).Addr() {
		t.Errorf("refused address %s, want %s", fe.Addr, rc.addr(t).Addr())
	}
	if !strings.Contains(err.Error(), "is a loopback address") {
		t.Errorf("error %q does not give the reason", err)
	}
	rc.settle(t, 1, 1)
}

func TestTransportAllowPrivate(t *testing.T) {
	rc := newReceiver(t)
	body, err := get(client(t, netguard.Policy{AllowPrivate: true}), rc.srv.URL+"/hook")
	if err != nil || body != "ok" {
		t.Fatalf("GET = %q, %v; want ok", body, err)
	}
	rc.settle(t, 2, 2)
}

func TestTransportAllowCIDR(t *testing.T) {
	rc := newReceiver(t)
	a := rc.addr(t).Addr()
	cidr := "127.0.0.0/8"
	if !a.Is4() {
		cidr = "::1/128"
	}
	cidrs, err := netguard.ParseCIDRs(cidr)
	if err != nil {
		t.Fatal(err)
	}
	body, err := get(client(t, netguard.Policy{AllowCIDRs: cidrs}), rc.srv.URL+"/hook")
	if err != nil || body != "ok" {
		t.Fatalf("GET with AllowCIDRs %s = %q, %v; want ok", cidr, body, err)
	}
	// A CIDR that does not hold the receiver does not help.
	other, _ := netguard.ParseCIDRs("10.0.0.0/8,fd00::/8")
	_, err = get(client(t, netguard.Policy{AllowCIDRs: other}), rc.srv.URL+"/hook")
	wantRefused(t, err)
	rc.settle(t, 2, 2)
}

// TestTransportRefusesResolvedName checks the check is on the address
// dialed: "localhost" passes no literal-IP test, and is refused once the
// system resolver has turned it into a loopback address.
func TestTransportRefusesResolvedName(t *testing.T) {
	addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", "localhost")
	if err != nil || len(addrs) == 0 {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			t.Skipf("localhost resolves to %s here", a)
		}
	}
	rc := newReceiver(t)
	u := "http://localhost:" + rc.port(t) + "/hook"
	_, err = get(client(t, netguard.Policy{}), u)
	fe := wantRefused(t, err)
	if !fe.Addr.Unmap().IsLoopback() || fe.Host != "" {
		t.Errorf("refused %+v, want a resolved loopback address", fe)
	}
	// With loopback allowed the same name reaches the receiver.
	body, err := get(client(t, netguard.Policy{AllowCIDRs: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	}}), u)
	if err != nil || body != "ok" {
		t.Fatalf("GET %s with loopback allowed = %q, %v; want ok", u, body, err)
	}
	rc.settle(t, 2, 2)
}

// TestTransportRefusesIDNAHost checks a host that CheckURL does not fold
// but net/http's IDNA mapping turns into 127.0.0.1 is refused when dialed.
func TestTransportRefusesIDNAHost(t *testing.T) {
	rc := newReceiver(t)
	if !rc.addr(t).Addr().Is4() {
		t.Skip("receiver is not on IPv4")
	}
	u := "http://①②⑦.⓪.⓪.①:" + rc.port(t) + "/hook"
	if err := (netguard.Policy{}).CheckURL(u); err != nil {
		t.Logf("CheckURL already refuses %s: %v", u, err)
	}
	_, err := get(client(t, netguard.Policy{}), u)
	fe := wantRefused(t, err)
	if fe.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("refused %s, want 127.0.0.1", fe.Addr)
	}
	rc.settle(t, 1, 1)
}

func TestDialerControl(t *testing.T) {
	d := netguard.NewDialer(netguard.Policy{}, 0)
	if d.Control == nil || d.Timeout != netguard.DefaultTimeout {
		t.Fatalf("NewDialer(_, 0) = %+v, want a Control func and the default timeout", d)
	}
	tests := []struct {
		network, address string
		forbidden        bool
	}{
		{"tcp4", "127.0.0.1:80", true},
		{"tcp4", "169.254.169.254:80", true},
		{"tcp4", "10.1.2.3:443", true},
		{"tcp4", "0.0.0.0:80", true},
		{"tcp6", "[::1]:80", true},
		{"tcp6", "[::ffff:127.0.0.1]:80", true},
		{"tcp6", "[fe80::1%eth0]:80", true},
		{"tcp6", "[fd00:ec2::254]:80", true},
		{"tcp6", "[::]:80", true},
		{"tcp4", "8.8.8.8:443", false},
		{"tcp6", "[2606:4700:4700::1111]:443", false},
		{"udp4", "8.8.8.8:53", true},
		{"tcp4", "not-an-address", true},
	}
	for _, tt := range tests {
		t.Run(tt.network+"/"+tt.address, func(t *testing.T) {
			err := d.Control(tt.network, tt.address, nil)
			if got := errors.Is(err, netguard.ErrForbidden); got != tt.forbidden {
				t.Errorf("Control(%s, %s) = %v, want forbidden %v", tt.network, tt.address, err, tt.forbidden)
			}
		})
	}
}

// TestDialerCopiesPolicy checks that changing the caller's slice after
// NewDialer does not change the dialer's policy.
func TestDialerCopiesPolicy(t *testing.T) {
	cidrs := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	d := netguard.NewDialer(netguard.Policy{AllowCIDRs: cidrs}, time.Second)
	cidrs[0] = netip.MustParsePrefix("127.0.0.0/8")
	if err := d.Control("tcp4", "10.0.0.1:80", nil); err != nil {
		t.Errorf("10.0.0.1 refused after the caller's slice changed: %v", err)
	}
	if err := d.Control("tcp4", "127.0.0.1:80", nil); !errors.Is(err, netguard.ErrForbidden) {
		t.Errorf("127.0.0.1 = %v after the caller's slice changed, want ErrForbidden", err)
	}
}

func TestTransportSettings(t *testing.T) {
	tr := netguard.Transport(netguard.Policy{}, 3*time.Second)
	if tr.Proxy != nil {
		t.Error("Proxy is set; a proxy would bypass the dial check")
	}
	if tr.DialContext == nil || tr.DialTLSContext != nil || tr.Dial != nil || tr.DialTLS != nil {
		t.Error("want connections made through DialContext only")
	}
	if tr.TLSHandshakeTimeout != 3*time.Second {
		t.Errorf("TLSHandshakeTimeout = %s, want 3s", tr.TLSHandshakeTimeout)
	}
	if tr.MaxResponseHeaderBytes != 64<<10 || tr.MaxIdleConnsPerHost <= 0 || tr.IdleConnTimeout <= 0 {
		t.Errorf("MaxResponseHeaderBytes %d, MaxIdleConnsPerHost %d, IdleConnTimeout %s", tr.MaxResponseHeaderBytes, tr.MaxIdleConnsPerHost, tr.IdleConnTimeout)
	}
	if d := netguard.Transport(netguard.Policy{}, -1); d.TLSHandshakeTimeout != netguard.DefaultTimeout {
		t.Errorf("TLSHandshakeTimeout with timeout -1 = %s, want %s", d.TLSHandshakeTimeout, netguard.DefaultTimeout)
	}
}
