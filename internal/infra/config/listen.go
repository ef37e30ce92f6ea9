package config

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// Listen is the configuration of invoiced listen.
type Listen struct {
	API       string
	APIKey    string
	ForwardTo string
	Addr      string
	Events    []string
	// Signing is how the relay's subscription is signed:
	// webhook.SigningHMAC or webhook.SigningEd25519.
	Signing string
	// ProbeInterval is how often the relay asks the service's /readyz
	// whether it is there, to replay what it missed once it is back.
	ProbeInterval time.Duration
}

// DefaultProbeInterval is how often listen probes the service by default.
const DefaultProbeInterval = 2 * time.Second

// ParseListen reads the flags of invoiced listen, each defaulting to its
// INVOICED_<NAME> environment variable as in serve. It returns flag.ErrHelp
// after printing usage to out when asked for help, and an error naming the
// bad flag otherwise.
func ParseListen(args []string, getenv func(string) string, out io.Writer) (Listen, error) {
	var l Listen
	var events string
	fs := newCommandFlags("invoiced listen", "Usage: invoiced listen [--forward-to <url>] [flags]\n\n"+
		"Subscribes a local relay to the service's webhooks and verifies each as it\n"+
		"arrives. With --forward-to it prints each with its verification, forwards it\n"+
		"with its signed headers to your app and prints the app's answer. Without, it\n"+
		"prints the body of each verified webhook as one JSON line on stdout (and all\n"+
		"else on stderr), for jq or a file. When the service was away, webhooks resume\n"+
		"once it is back and the events missed are replayed, each once. Ctrl-C removes\n"+
		"the subscription it made.", out)
	fs.StringVar(&l.ForwardTo, "forward-to", "", "URL of your local app's webhook endpoint; empty prints each verified webhook instead")
	fs.StringVar(&l.API, "api", "http://"+DefaultAddr, "base URL of the invoiced API")
	fs.StringVar(&l.APIKey, "api-key", "", "API key, when the service has keys")
	fs.StringVar(&l.Addr, "listen", "127.0.0.1:0", "where the relay listens; a fixed port lets a later run reuse its subscription")
	fs.StringVar(&l.Signing, "signing", webhook.SigningHMAC,
		"how a new subscription of the relay is signed: hmac (a whsec_ secret) or ed25519 (verified with its public keys)")
	fs.DurationVar(&l.ProbeInterval, "probe-interval", DefaultProbeInterval,
		"how often the relay checks that the service is there; when it is back after a gap, the events missed are replayed from GET /events")
	fs.StringVar(&events, "events", strings.Join(webhook.EventTypes, ","), "comma-separated event types to take")
	if err := fs.parse(args, getenv); err != nil {
		return Listen{}, err
	}
	l.Events = splitList(events)
	return l, l.Validate()
}

// Prints reports whether listen prints each webhook rather than forwarding
// it: no --forward-to.
func (l Listen) Prints() bool { return l.ForwardTo == "" }

// Validate reports the first problem: --forward-to or --api not an
// http(s) URL, a bad --listen address, an unknown event type, or a
// --signing other than hmac or ed25519, or a --probe-interval that is not
// positive.
func (l Listen) Validate() error {
	urls := []struct{ flag, url string }{{"--api", l.API}}
	if !l.Prints() {
		urls = append(urls, struct{ flag, url string }{"--forward-to", l.ForwardTo})
	}
	for _, u := range urls {
		parsed, err := url.Parse(u.url)
		if u.url == "" || err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return fmt.Errorf("%s must be an http(s) URL, not %q", u.flag, u.url)
		}
	}
	if _, _, err := net.SplitHostPort(l.Addr); err != nil {
		return fmt.Errorf("--listen %q: %w", l.Addr, err)
	}
	if len(l.Events) == 0 {
		return fmt.Errorf("--events names no event type")
	}
	for _, e := range l.Events {
		if !slices.Contains(webhook.EventTypes, e) {
			return fmt.Errorf("--events: unknown event type %q (known: %s)", e, strings.Join(webhook.EventTypes, ", "))
		}
	}
	if l.Signing != webhook.SigningHMAC && l.Signing != webhook.SigningEd25519 {
		return fmt.Errorf("--signing must be %s or %s, not %q", webhook.SigningHMAC, webhook.SigningEd25519, l.Signing)
	}
	if l.ProbeInterval <= 0 {
		return fmt.Errorf("--probe-interval must be positive, not %s", l.ProbeInterval)
	}
	return nil
}
