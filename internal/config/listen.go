package config

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/invoiced/invoiced/internal/webhook"
)

// Listen is the configuration of invoiced listen.
type Listen struct {
	API       string
	APIKey    string
	ForwardTo string
	Addr      string
	Events    []string
}

// ParseListen reads the flags of invoiced listen, each defaulting to its
// INVOICED_<NAME> environment variable. It returns flag.ErrHelp after
// printing usage to out when asked for help, and an error naming the bad
// flag otherwise.
func ParseListen(args []string, getenv func(string) string, out io.Writer) (Listen, error) {
	var l Listen
	var events string
	fs := flag.NewFlagSet("invoiced listen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&l.ForwardTo, "forward-to", "", "URL of your local app's webhook endpoint; required")
	fs.StringVar(&l.API, "api", "http://127.0.0.1:8080", "base URL of the invoiced API")
	fs.StringVar(&l.APIKey, "api-key", "", "API key, when the service has keys")
	fs.StringVar(&l.Addr, "listen", "127.0.0.1:0", "where the relay listens; a fixed port lets a later run reuse its subscription")
	fs.StringVar(&events, "events", strings.Join(webhook.EventTypes, ","), "comma-separated event types to forward")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: invoiced listen --forward-to <url> [flags]\n\nSubscribes a local relay to the service's webhooks, prints each as it arrives\nwith its verification, forwards it with its signed headers to your app and\nprints the app's answer. Ctrl-C removes the subscription it made.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Listen{}, err
	}
	if fs.NArg() > 0 {
		return Listen{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := applyEnv(fs, getenv); err != nil {
		return Listen{}, err
	}
	l.Events = splitList(events)
	return l, l.validate()
}

func (l Listen) validate() error {
	for _, u := range []struct{ flag, url string }{{"--forward-to", l.ForwardTo}, {"--api", l.API}} {
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
	return nil
}
