// Package netguard keeps outgoing webhook requests away from networks they
// must not reach: loopback, private and link-local networks, cloud metadata
// services, multicast and the like (protection against server-side request
// forgery).
//
// A [Policy] judges one IP address with [Policy.Check]. The check that
// matters is made at dial time: the dialer of [NewDialer] and the transport
// of [Transport] judge every address they are about to connect to, after DNS
// resolution, so a host name that resolves (or re-resolves, DNS rebinding)
// to a forbidden address is refused. [Policy.CheckURL] is an early check
// for subscription creation: it refuses URLs whose host is written as a
// forbidden IP address (or is "localhost") and leaves other host names to
// the dial-time check. [DescribeError] turns the error of a request made
// through the transport into a short text to show whoever owns the
// destination, naming no address of the service's side.
//
// # What is forbidden
//
// The zero Policy forbids every address that is not public unicast:
//
//   - loopback: 127.0.0.0/8, ::1
//   - private (RFC 1918): 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16
//   - unique local (RFC 4193): fc00::/7 (for example fd00:ec2::254)
//   - link-local: 169.254.0.0/16 (for example the metadata service
//     169.254.169.254), fe80::/10
//   - shared address space (RFC 6598, carrier-grade NAT): 100.64.0.0/10
//   - site-local (deprecated): fec0::/10; local-use NAT64: 64:ff9b:1::/48
//   - reserved and special-purpose ranges that are never a real receiver:
//     192.0.0.0/24, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
//     192.88.99.0/24, 198.18.0.0/15, 240.0.0.0/4, ::/96, 100::/64,
//     2001::/32 (Teredo), 2001:2::/48, 2001:10::/28, 2001:20::/28,
//     2001:db8::/32, 3fff::/20 and all IPv6 space outside 2000::/3
//   - never allowed, whatever the policy: the unspecified address and
//     "this network" (0.0.0.0/8, ::), multicast (224.0.0.0/4, ff00::/8) and
//     the limited broadcast address 255.255.255.255
//
// IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) are judged as the IPv4
// address they map. NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses
// are judged by the IPv4 address they embed, since that is where the
// traffic ends up: 64:ff9b::7f00:1 is refused, 64:ff9b::808:808 is not.
//
// # Lifting the checks
//
// [Policy.AllowPrivate] allows every class above except the "never" one:
// it is meant for development and tests, where receivers run on localhost
// or a private network. [Policy.AllowCIDRs] allows the addresses inside the
// listed prefixes, again except the "never" class. The unspecified address,
// multicast and broadcast stay forbidden because no HTTP receiver can live
// there, and because connecting to 0.0.0.0 or :: reaches the local host on
// common systems, a classic way around loopback filters.
package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrForbidden is wrapped by every error that refuses a destination because
// of the policy. Test for it with errors.Is; it survives the *url.Error and
// *net.OpError wrapping of an http.Client.
var ErrForbidden = errors.New("netguard: forbidden destination")

// ForbiddenError is the error [Policy.Check], [Policy.CheckURL] and the
// dialer of [NewDialer] return for a forbidden destination. It unwraps to
// [ErrForbidden].
type ForbiddenError struct {
	// Addr is the refused address as it was given (IPv4-mapped or zoned
	// forms kept); it is the zero Addr when the refused host is a name.
	Addr netip.Addr
	// Host is the host as written, set when it is spelled differently
	// from Addr ("0x7f.1", "localhost" in CheckURL) or when it is no
	// address at all; otherwise "".
	Host string
	// Reason says what kind of address it is, with its article, for
	// example "a loopback address".
	Reason string
}

// Error returns a message naming the destination and the reason, for
// example "127.0.0.1 is a loopback address".
func (e *ForbiddenError) Error() string {
	switch {
	case e.Host != "" && e.Addr.IsValid():
		return fmt.Sprintf("host %q means %s, which is %s", e.Host, e.Addr, e.Reason)
	case e.Host != "":
		return fmt.Sprintf("host %q is %s", e.Host, e.Reason)
	case e.Addr.IsValid():
		return e.Addr.String() + " is " + e.Reason
	default:
		return "netguard: " + e.Reason
	}
}

// Unwrap returns [ErrForbidden].
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// Policy says which destinations outgoing webhook requests may reach. The
// zero Policy is the strictest: public unicast addresses only.
type Policy struct {
	// AllowPrivate allows loopback, private, unique local, link-local,
	// shared (CGNAT), site-local and reserved addresses. It never allows
	// unspecified, multicast or broadcast addresses.
	AllowPrivate bool
	// AllowCIDRs allows the addresses inside these prefixes, with the same
	// exception as AllowPrivate. IPv4 prefixes are written as IPv4 (not
	// IPv4-mapped IPv6); see [Policy.Validate] and [ParseCIDRs].
	AllowCIDRs []netip.Prefix
}

// class is how far a policy can lift the ban on a range.
type class uint8

const (
	public   class = iota // allowed by every policy
	liftable              // forbidden unless AllowPrivate or AllowCIDRs
	never                 // forbidden by every policy
)

// rule classifies the addresses of one prefix. The most specific rule
// containing an address applies.
type rule struct {
	prefix netip.Prefix
	reason string
	class  class
	// embedded, if set, returns the IPv4 address the traffic really goes
	// to; the address is then judged by it.
	embedded func(netip.Addr) netip.Addr
}

func r(prefix, reason string, c class) rule {
	return rule{prefix: netip.MustParsePrefix(prefix), reason: reason, class: c}
}

// nat64 returns the IPv4 address in the last 32 bits of a 64:ff9b::/96
// address (RFC 6052).
func nat64(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom4([4]byte(b[12:16]))
}

// sixToFour returns the IPv4 address in bits 16 to 48 of a 2002::/16
// address (RFC 3056).
func sixToFour(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom4([4]byte(b[2:6]))
}

const (
	reasonPrivate       = "a private address"
	reasonDocumentation = "a documentation address"
	reasonReserved      = "a reserved address"
	reasonBenchmarking  = "a benchmarking address"
	reasonLinkLocal     = "a link-local address"
	reasonLoopback      = "a loopback address"
	reasonMulticast     = "a multicast address"
	reasonUnspecified   = "the unspecified address"
)

var rules = []rule{
	// IPv4 (IANA IPv4 Special-Purpose Address Registry).
	r("0.0.0.0/8", `a "this network" address`, never),
	r("0.0.0.0/32", reasonUnspecified, never),
	r("10.0.0.0/8", reasonPrivate, liftable),
	r("100.64.0.0/10", "a shared (carrier-grade NAT) address", liftable),
	r("127.0.0.0/8", reasonLoopback, liftable),
	r("169.254.0.0/16", reasonLinkLocal, liftable),
	r("172.16.0.0/12", reasonPrivate, liftable),
	r("192.0.0.0/24", "an IETF protocol assignment address", liftable),
	r("192.0.2.0/24", reasonDocumentation, liftable),
	r("192.88.99.0/24", "a deprecated 6to4 relay address", liftable),
	r("192.168.0.0/16", reasonPrivate, liftable),
	r("198.18.0.0/15", reasonBenchmarking, liftable),
	r("198.51.100.0/24", reasonDocumentation, liftable),
	r("203.0.113.0/24", reasonDocumentation, liftable),
	r("224.0.0.0/4", reasonMulticast, never),
	r("240.0.0.0/4", reasonReserved, liftable),
	r("255.255.255.255/32", "the broadcast address", never),

	// IPv6 (IANA IPv6 Special-Purpose Address Registry). Only 2000::/3 is
	// allocated as global unicast; everything else is reserved unless a
	// more specific rule says otherwise.
	r("::/0", "an address outside the IPv6 global unicast range 2000::/3", liftable),
	r("2000::/3", "", public),
	r("::/128", reasonUnspecified, never),
	r("::1/128", reasonLoopback, liftable),
	r("::/96", "a deprecated IPv4-compatible address", liftable),
	{prefix: netip.MustParsePrefix("64:ff9b::/96"), reason: "a NAT64 address", embedded: nat64},
	r("64:ff9b:1::/48", "a local-use NAT64 address", liftable),
	r("100::/64", "a discard-only address", liftable),
	r("2001::/32", "a Teredo address", liftable),
	r("2001:2::/48", reasonBenchmarking, liftable),
	r("2001:10::/28", "an ORCHID address", liftable),
	r("2001:20::/28", "an ORCHIDv2 address", liftable),
	r("2001:db8::/32", reasonDocumentation, liftable),
	{prefix: netip.MustParsePrefix("2002::/16"), reason: "a 6to4 address", embedded: sixToFour},
	r("3fff::/20", reasonDocumentation, liftable),
	r("fc00::/7", "a unique local address", liftable),
	r("fe80::/10", reasonLinkLocal, liftable),
	r("fec0::/10", "a site-local address", liftable),
	r("ff00::/8", reasonMulticast, never),
}

// classify returns the most specific rule containing a, which must be
// valid, unmapped and without zone; nil means a public IPv4 address.
func classify(a netip.Addr) *rule {
	var best *rule
	for i := range rules {
		ru := &rules[i]
		if ru.prefix.Contains(a) && (best == nil || ru.prefix.Bits() > best.prefix.Bits()) {
			best = ru
		}
	}
	return best
}

// Check returns nil if p allows connecting to ip, and otherwise a
// *[ForbiddenError] wrapping [ErrForbidden] that names ip and the reason,
// for example "127.0.0.1 is a loopback address". The invalid (zero) Addr is
// forbidden. IPv4-mapped addresses are judged as IPv4 and zones are
// ignored.
func (p Policy) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return &ForbiddenError{Reason: "no valid IP address"}
	}
	if reason, bad := p.judge(ip.Unmap().WithZone("")); bad {
		return &ForbiddenError{Addr: ip, Reason: reason}
	}
	return nil
}

// judge reports whether p forbids a (valid, unmapped, no zone) and why.
func (p Policy) judge(a netip.Addr) (reason string, forbidden bool) {
	ru := classify(a)
	switch {
	case ru == nil || (ru.class == public && ru.embedded == nil):
		return "", false
	case ru.class == never:
		return ru.reason, true
	case ru.embedded != nil:
		inner := ru.embedded(a)
		if why, bad := p.judge(inner); bad {
			return fmt.Sprintf("%s embedding %s, which is %s", ru.reason, inner, why), true
		}
		return "", false
	case p.AllowPrivate || p.allowed(a):
		return "", false
	default:
		return ru.reason, true
	}
}

func (p Policy) allowed(a netip.Addr) bool {
	for _, pre := range p.AllowCIDRs {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// Validate returns nil if every prefix in p.AllowCIDRs is usable, and
// otherwise an error naming the first one that is not: an invalid (zero)
// prefix, one with host bits set (10.0.0.1/8), one written as IPv4-mapped
// IPv6 (which would match nothing, since addresses are judged unmapped), or
// one lying wholly in a range no policy allows (224.0.0.0/4).
func (p Policy) Validate() error {
	for i, pre := range p.AllowCIDRs {
		if err := checkPrefix(pre); err != nil {
			return fmt.Errorf("netguard: AllowCIDRs[%d] (%s) %v", i, pre, err)
		}
	}
	return nil
}

func checkPrefix(pre netip.Prefix) error {
	if !pre.IsValid() {
		return errors.New("is not a valid prefix")
	}
	if pre.Addr().Is4In6() {
		return errors.New("is IPv4-mapped; write it as IPv4")
	}
	if m := pre.Masked(); m != pre {
		return fmt.Errorf("has host bits set; did you mean %s?", m)
	}
	for _, ru := range rules {
		if ru.class == never && ru.prefix.Bits() <= pre.Bits() && ru.prefix.Contains(pre.Addr()) {
			return fmt.Errorf("would allow nothing: every address in %s is %s, which no policy allows", ru.prefix, ru.reason)
		}
	}
	return nil
}

// ParseCIDRs parses a comma-separated list of prefixes, as given to a
// command-line flag, for [Policy.AllowCIDRs]: "10.1.0.0/16, fd00::/8".
// Blanks around entries and empty entries are ignored, so "" returns nil.
// A bare address means a single-address prefix (10.1.2.3 is 10.1.2.3/32)
// and an IPv4-mapped prefix is converted to IPv4 (::ffff:10.0.0.0/104 is
// 10.0.0.0/8). It fails, naming the entry, on anything that does not parse
// or that [Policy.Validate] would refuse; every prefix it returns passes
// Validate.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		pre, err := parsePrefix(entry)
		if err == nil {
			err = checkPrefix(pre)
		}
		if err != nil {
			return nil, fmt.Errorf("netguard: allowed CIDR %q %v", entry, err)
		}
		out = append(out, pre)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	var pre netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if pre, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, errors.New("is not a CIDR prefix")
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, errors.New("is neither a CIDR prefix nor an IP address")
		}
		pre = netip.PrefixFrom(a, a.BitLen())
	}
	if pre.Addr().Is4In6() {
		if pre.Bits() < 96 {
			return netip.Prefix{}, errors.New("is wider than the IPv4-mapped range ::ffff:0:0/96")
		}
		pre = netip.PrefixFrom(pre.Addr().Unmap(), pre.Bits()-96)
	}
	return pre, nil
}
