package netguard

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DescribeError returns a short, stable text for err, an error of a request
// made through [Transport] within timeout, fit to show whoever owns the
// destination: "connection refused", "timed out after 10s", "DNS lookup of
// hooks.example.com failed: no such host". It names the destination's host
// where that helps, never the resolver's address, the local socket's or
// the address a name resolved to (nor the URL, whose query may hold a
// token); it returns "" for a nil err.
func DescribeError(err error, timeout time.Duration) string {
	var (
		forbidden *ForbiddenError
		dns       *net.DNSError
		errno     syscall.Errno
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &forbidden):
		return "blocked: the target is " + scrub(forbidden.Reason) // a NAT64 reason names the address inside
	case errors.Is(err, ErrForbidden):
		return "blocked: the target is not allowed"
	case errors.As(err, &dns):
		return describeDNS(dns)
	case isTimeout(err):
		return "timed out after " + timeout.String()
	case errors.Is(err, context.Canceled):
		return "canceled before the receiver answered"
	case errors.As(err, &errno):
		return describeErrno(errno)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the receiver closed the connection before a whole answer"
	}
	if text, ok := describeTLS(err); ok {
		return text
	}
	return describeOther(err)
}

// isTimeout reports whether err is a deadline that passed, the request's
// or the connection's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// describeDNS names the host looked up and what went wrong. The DNS
// error's own text is left out: it names the resolver ("on
// 127.0.0.53:53") and may quote the socket that reached it.
func describeDNS(e *net.DNSError) string {
	what := "DNS lookup"
	if e.Name != "" {
		what += " of " + scrub(e.Name)
	}
	switch {
	case e.IsNotFound:
		return what + " failed: no such host"
	case e.IsTimeout:
		return what + " timed out"
	default:
		return what + " failed"
	}
}

// errnoTexts are the system errors a connection to a receiver commonly
// ends with, said plainly.
var errnoTexts = map[syscall.Errno]string{
	syscall.ECONNREFUSED:  "connection refused",
	syscall.ECONNRESET:    "connection reset by the receiver",
	syscall.ECONNABORTED:  "connection aborted",
	syscall.EPIPE:         "the receiver closed the connection",
	syscall.EHOSTUNREACH:  "host unreachable",
	syscall.ENETUNREACH:   "network unreachable",
	syscall.EADDRNOTAVAIL: "no local address to connect from",
}

// describeErrno says e plainly; the system's text for the others names no
// address either.
func describeErrno(e syscall.Errno) string {
	if text, ok := errnoTexts[e]; ok {
		return text
	}
	return e.Error()
}

// describeTLS says why a TLS handshake failed, when err says; the texts
// name the certificate's and the destination's host names only.
func describeTLS(err error) (string, bool) {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		return "TLS: the certificate is signed by an unknown authority", true
	case errors.As(err, &hostname):
		return "TLS: " + scrub(strings.TrimPrefix(hostname.Error(), "x509: ")), true
	case errors.As(err, &invalid):
		return "TLS: " + scrub(strings.TrimPrefix(invalid.Error(), "x509: ")), true
	case errors.As(err, &verify):
		return "TLS: the certificate could not be verified", true
	case errors.As(err, &record):
		return "TLS handshake failed: the receiver does not answer in TLS", true
	}
	return "", false
}

// describeOther says what is left: an address that cannot be dialed, a
// connection error without the addresses *net.OpError adds, or the text
// of an error of net/http without the URL, every address in it masked.
func describeOther(err error) string {
	var (
		addr *net.AddrError
		op   *net.OpError
		u    *url.Error
	)
	switch {
	case errors.As(err, &addr):
		return "invalid address: " + scrub(addr.Err)
	case errors.As(err, &op) && op.Err != nil:
		return op.Op + ": " + scrub(op.Err.Error())
	case errors.As(err, &u) && u.Err != nil:
		err = u.Err
	}
	return scrub(err.Error())
}

// maskedAddress stands in for an address scrub removes.
const maskedAddress = "<address>"

// maxAddressLen bounds the addresses scrub looks for: a bracketed
// IPv4-mapped IPv6 address and a port, with room for zeros before the port.
const maxAddressLen = 64

// scrub returns s with every IP address in it, with or without a port,
// replaced by maskedAddress: the last guard of DescribeError against a
// text that names one. At each byte it masks the longest run of hex
// digits, dots, colons and brackets from there that netip parses as an
// address, or an address and port.
func scrub(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if n := addressAt(s[i:]); n > 0 {
			b.WriteString(maskedAddress)
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// addressAt returns the length of the longest address s starts with, 0
// when it starts with none.
func addressAt(s string) int {
	end := 0
	for end < len(s) && end < maxAddressLen && isAddressByte(s[end]) {
		end++
	}
	for n := end; n > 1; n-- {
		if isAddress(s[:n]) {
			return n
		}
	}
	return 0
}

// isAddressByte reports whether c may be part of an address as scrub reads
// one.
func isAddressByte(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		return true
	}
	return c == '.' || c == ':' || c == '[' || c == ']'
}

// isAddress reports whether s is an IP address, bracketed or not, or an
// address and port.
func isAddress(s string) bool {
	if _, err := netip.ParseAddrPort(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	return err == nil
}
