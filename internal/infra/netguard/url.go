package netguard

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
)

var (
	loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	loopback6 = netip.IPv6Loopback()
)

// CheckURL is the early check made when a subscription is created. It
// returns nil if p allows the host of the URL raw as far as can be told
// without resolving it, and a *[ForbiddenError] wrapping [ErrForbidden] if
// the host is written as an address p forbids or is a loopback name while
// p forbids loopback.
//
// The host is read as net/url reads it (brackets and IPv6 zones such as
// [fe80::1%25eth0] handled). Besides standard IP literals it recognizes:
//
//   - the old inet_aton spellings of IPv4 that C resolvers (and so Go's cgo
//     resolver) accept: "2130706433", "0x7f.1", "0177.0.0.1", "127.1";
//   - a trailing dot ("127.0.0.1.");
//   - fullwidth digits, letters and dots ("１２７.０.０.１"), which the IDNA
//     mapping of net/http turns into ASCII;
//   - "localhost" and names under ".localhost" (RFC 6761), refused unless p
//     allows 127.0.0.1 or ::1.
//
// Other host names are not resolved here and pass: the dialer of
// [NewDialer] judges the addresses they resolve to, and it remains the
// authoritative check (it also catches the rarer IDNA spellings that this
// function does not fold). CheckURL does not judge the scheme, port or
// path. It returns the *url.Error of url.Parse (which does not wrap
// ErrForbidden) if raw does not parse, and nil if the URL has no host.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "" {
		return nil
	}
	name := foldWidth(host)
	if a, err := netip.ParseAddr(name); err == nil {
		return p.checkSpelled(host, a)
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if a, ok := parseInetAton(name); ok {
		return p.checkSpelled(host, a)
	}
	if numericLookalike(name) {
		// IDNA maps such hosts (①②⑦.⓪.⓪.①, 𝟏𝟐𝟕.𝟎.𝟎.𝟏) to an address; no
		// real receiver is named this way.
		return &ForbiddenError{Host: host, Reason: "an address spelled in non-ASCII digits"}
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		if p.Check(loopback4) == nil || p.Check(loopback6) == nil {
			return nil
		}
		return &ForbiddenError{Host: host, Reason: "a loopback name"}
	}
	return nil
}

// checkSpelled checks a, read from host, and names host in the error when
// it is not the usual spelling of a.
func (p Policy) checkSpelled(host string, a netip.Addr) error {
	err := p.Check(a)
	var fe *ForbiddenError
	if errors.As(err, &fe) && host != a.String() {
		fe.Host = host
	}
	return err
}

// foldWidth maps the fullwidth forms of ASCII (U+FF01 to U+FF5E) and the
// ideographic full stops (U+3002, U+FF61) to ASCII, as IDNA does; other
// runes are kept.
func foldWidth(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFF01 + '!'
		case r == 0x3002 || r == 0xFF61:
			return '.'
		}
		return r
	}, s)
}

// parseInetAton parses s the way the C library's inet_aton does: one to
// four parts separated by dots, each decimal, octal (leading 0) or
// hexadecimal (leading 0x); the last part fills the remaining bytes. It
// errs on the side of accepting: any string it accepts that a resolver
// might read differently is still a numeric string no DNS name can be.
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals [4]uint64
	for i, part := range parts {
		v, ok := parseInetNumber(part)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	n := len(parts)
	var x uint64
	for i := range n - 1 {
		if vals[i] > 0xff {
			return netip.Addr{}, false
		}
		x |= vals[i] << (24 - 8*i)
	}
	if vals[n-1] >= 1<<(8*(5-n)) {
		return netip.Addr{}, false
	}
	x |= vals[n-1]
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}), true
}

// parseInetNumber parses one part of parseInetAton; values above 2³² fail.
func parseInetNumber(s string) (uint64, bool) {
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
		if s == "" { // "0x" alone reads as 0
			return 0, true
		}
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	case s == "":
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 1<<32 {
			return 0, false
		}
	}
	return v, true
}

// numericLookalike reports whether name is made only of numbers and dots,
// some of them outside ASCII: an IP address in disguise.
func numericLookalike(name string) bool {
	foreign := false
	for _, r := range name {
		switch {
		case r == '.' || r == '\u3002' || r == '\uff0e' || r == '\uff61':
		case unicode.IsNumber(r):
		default:
			return false
		}
		foreign = foreign || r > unicode.MaxASCII
	}
	return foreign
}
