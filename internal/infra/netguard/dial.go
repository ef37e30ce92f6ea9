package netguard

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// DefaultTimeout is the connect and TLS handshake timeout [NewDialer] and
// [Transport] use when given a timeout that is not positive.
const DefaultTimeout = 10 * time.Second

// MaxResponseHeaderBytes caps the response headers a webhook receiver may
// send to the transport of [Transport].
const MaxResponseHeaderBytes = 64 << 10

// NewDialer returns a dialer that refuses, before connecting, any address p
// forbids. The check runs in the dialer's Control function on the address
// really being dialed, after DNS resolution, so it covers host names that
// resolve to forbidden addresses and DNS rebinding; when a name resolves
// to several addresses, each is judged before it is tried. A refused dial
// fails with a *net.OpError wrapping a *[ForbiddenError], so errors.Is(err,
// ErrForbidden) holds. Networks other than TCP are refused too, with an
// error wrapping ErrForbidden.
//
// timeout bounds each connection attempt; if it is not positive,
// [DefaultTimeout] is used. p is copied; it should pass [Policy.Validate]
// (an invalid allowed prefix matches nothing).
func NewDialer(p Policy, timeout time.Duration) *net.Dialer {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	p.AllowCIDRs = slices.Clone(p.AllowCIDRs)
	return &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Control:   p.control,
	}
}

// control is a net.Dialer Control function enforcing p.
func (p Policy) control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("netguard: network %q: %w", network, ErrForbidden)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &ForbiddenError{Host: address, Reason: "not an IP address and port"}
	}
	return p.Check(ap.Addr())
}

// Transport returns an HTTP transport for webhook deliveries that connects
// only where p allows, through the dialer of [NewDialer]. It uses no proxy
// (the proxy environment variables are ignored, since a proxy would make
// the connection on the transport's behalf and bypass the check), attempts
// HTTP/2 over TLS, keeps up to 1024 idle connections (64 per host) for 90
// seconds, bounds the TLS handshake by timeout ([DefaultTimeout] if not
// positive) and refuses response headers larger than
// [MaxResponseHeaderBytes]. Deadlines for the whole request are left to the
// http.Client or the request context.
func Transport(p Policy, timeout time.Duration) *http.Transport {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := NewDialer(p, timeout)
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}
}
