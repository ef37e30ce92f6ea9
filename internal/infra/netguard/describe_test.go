package netguard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/invoiced/invoiced/internal/testing/rawtcp"
)

// anyAddress matches an IPv4 address, a bracketed IPv6 one, or the DNS port,
// written independently of the package's own scanner.
var anyAddress = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[0-9a-fA-F:.]*\]|:53\b`)

// fakeDNS answers every query on a UDP socket of its own with answer
// (NXDOMAIN when answer is true, silence otherwise) and returns its
// address.
func fakeDNS(t *testing.T, answer bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if !answer || n < 12 {
				continue
			}
			resp := append([]byte(nil), buf[:n]...)
			resp[2] |= 0x80       // a response
			resp[3] = 0x80 | 0x03 // recursion available, NXDOMAIN
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	return pc.LocalAddr().String()
}

// closedUDP returns a UDP address nothing listens on.
func closedUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// resolvingClient is a client on the transport of p whose lookups all go,
// over UDP, to dnsAddr.
func resolvingClient(p netguard.Policy, dnsAddr string) *http.Client {
	d := netguard.NewDialer(p, time.Second)
	d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "udp", dnsAddr)
	}}
	tr := netguard.Transport(p, time.Second)
	tr.DialContext = d.DialContext
	return &http.Client{Transport: tr}
}

// rawServer hands each connection to serve once its request is read.
func rawServer(t *testing.T, serve func(c *net.TCPConn)) string {
	return rawtcp.Server(t, serve) + "/hook?token=s3cret"
}

// closedTCP returns a URL on a loopback port nothing listens on.
func closedTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String() + "/hook?token=s3cret"
	ln.Close()
	return u
}

// TestDescribeErrorOfRealFailures makes requests that fail in each common
// way and checks the text DescribeError makes of each error: the expected
// one, naming no address, though the error itself names one.
func TestDescribeErrorOfRealFailures(t *testing.T) {
	private := netguard.Policy{AllowPrivate: true}
	plain := &http.Client{Transport: netguard.Transport(private, time.Second)}
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes the client refuses
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plainSrv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plainSrv.Close)
	tests := []struct {
		name   string
		client *http.Client
		url    string
		want   string
		leaks  bool // the error names an address that is not the destination's
	}{
		{"no such host", resolvingClient(private, fakeDNS(t, true)), "http://hooks.example.test/in", "DNS lookup of hooks.example.test failed: no such host", true},
		{"the resolver unreachable", resolvingClient(private, closedUDP(t)), "http://hooks.example.test/in", "DNS lookup of hooks.example.test failed", true},
		{"the resolver silent", resolvingClient(private, fakeDNS(t, false)), "http://hooks.example.test/in", "timed out after 300ms", false},
		{"connection refused", plain, closedTCP(t), "connection refused", false},
		{"connection reset", plain, rawServer(t, rawtcp.Reset), "connection reset by the receiver", true},
		{"closed without an answer", plain, rawServer(t, func(c *net.TCPConn) { c.Close() }), "the receiver closed the connection before a whole answer", false},
		{"no answer in time", plain, rawServer(t, func(c *net.TCPConn) { <-hang; c.Close() }), "timed out after 300ms", false},
		{"an untrusted certificate", plain, tlsSrv.URL, "TLS: the certificate is signed by an unknown authority", false},
		{"TLS to a plain server", plain, strings.Replace(plainSrv.URL, "http:", "https:", 1), "http: server gave HTTP response to HTTPS client", false},
		{"a forbidden target", &http.Client{Transport: netguard.Transport(netguard.Policy{}, time.Second)}, plainSrv.URL, "blocked: the target is a loopback address", false},
	}
	// Whether a closed port's refusal reaches the resolver, or it waits in
	// vain, depends on the machine's network.
	alternative := map[string]string{"the resolver unreachable": "DNS lookup of hooks.example.test timed out"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only the cases that time out wait so little; a busy machine
			// may take longer than that for a handshake.
			wait := 10 * time.Second
			if strings.HasPrefix(tt.want, "timed out") {
				wait = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, tt.url, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := tt.client.Do(req)
			if err == nil {
				res.Body.Close()
				t.Fatalf("POST %s answered %s", tt.url, res.Status)
			}
			got := netguard.DescribeError(err, 300*time.Millisecond)
			t.Logf("%v: %q", err, got)
			if got != tt.want && got != alternative[tt.name] {
				t.Fatalf("DescribeError(%v) = %q, want %q", err, got, tt.want)
			}
			if tt.leaks && got == tt.want && !anyAddress.MatchString(strings.ReplaceAll(err.Error(), tt.url, "")) {
				t.Fatalf("the error %q names no address but the destination's: the case shows nothing", err)
			}
		})
	}
}

// TestDescribeErrorMasksWhatItDoesNotKnow checks the errors DescribeError
// has no plain text for: it keeps what they say but their addresses and
// URL.
func TestDescribeErrorMasksWhatItDoesNotKnow(t *testing.T) {
	local := &net.TCPAddr{IP: net.ParseIP("10.0.0.7"), Port: 41234}
	remote := &net.TCPAddr{IP: net.ParseIP("203.0.113.9"), Port: 443}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"a connection error", &url.Error{Op: "Post", URL: "https://h.example/x?token=s3cret",
			Err: &net.OpError{Op: "read", Net: "tcp", Source: local, Addr: remote, Err: errors.New("protocol wrong type")}}, "read: protocol wrong type"},
		{"a TLS alert", &net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, "remote error: tls: handshake failure"},
		{"an invalid port", &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "invalid port", Addr: "65536"}}, "invalid address: invalid port"},
		{"an address in a text", fmt.Errorf("net/http: broken: %s", "lookup h on 10.0.0.2:53 and [fd00::1]:53 and ::1"),
			"net/http: broken: lookup h on <address> and <address> and <address>"},
		{"a DNS error quoting its socket", &net.DNSError{Err: "read udp 10.0.0.7:5353->10.0.0.2:53: i/o refused", Name: "h.example", Server: "10.0.0.2:53"},
			"DNS lookup of h.example failed"},
		{"a forbidden NAT64 address", &url.Error{Op: "Post", URL: "https://h.example/",
			Err: netguard.Policy{}.Check(netip.MustParseAddr("64:ff9b::7f00:1"))}, "blocked: the target is a NAT64 address embedding <address>, which is a loopback address"},
		{"a forbidden network", fmt.Errorf("netguard: network %q: %w", "udp", netguard.ErrForbidden), "blocked: the target is not allowed"},
		{"a deadline", &url.Error{Op: "Post", URL: "https://h.example/", Err: context.DeadlineExceeded}, "timed out after 10s"},
		{"a cancel", &url.Error{Op: "Post", URL: "https://h.example/", Err: context.Canceled}, "canceled before the receiver answered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := netguard.DescribeError(tt.err, 10*time.Second)
			if got != tt.want {
				t.Fatalf("DescribeError = %q, want %q", got, tt.want)
			}
			if anyAddress.MatchString(got) || strings.Contains(got, "s3cret") {
				t.Fatalf("%q names an address or the URL", got)
			}
		})
	}
}

// FuzzDescribeErrorNamesNoAddress wraps arbitrary text in an error no rule
// of DescribeError knows: what it returns holds no substring that netip
// reads as an address, and a text without one is kept as it is.
func FuzzDescribeErrorNamesNoAddress(f *testing.F) {
	for _, seed := range []string{
		"", "EOF", "lookup x on 10.0.0.2:53: no such host", "dial udp [::1]:53: connect: refused",
		"read tcp 10.0.0.7:41234->203.0.113.9:443: read: reset", "1.2.3.4:53:abc", "abc1.2.3.4", "::", "[fe80::1%eth0]:80",
		"::ffff:1.2.3.4", "x509: certificate is valid for a.example, not b.example", "1.2.3.4.5.6.7.8", "[::]:000000000000000000000080",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := netguard.DescribeError(errors.New(text), time.Second)
		for i := range len(got) {
			for j := i + 1; j <= len(got) && j <= i+64; j++ {
				if _, err := netip.ParseAddr(got[i:j]); err == nil {
					t.Fatalf("DescribeError(%q) = %q names %q", text, got, got[i:j])
				}
				if _, err := netip.ParseAddrPort(got[i:j]); err == nil {
					t.Fatalf("DescribeError(%q) = %q names %q", text, got, got[i:j])
				}
			}
		}
		if !strings.Contains(got, "<address>") && got != text {
			t.Fatalf("DescribeError(%q) = %q, changed a text with no address", text, got)
		}
	})
}
