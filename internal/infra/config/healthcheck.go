package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"
)

// Healthcheck is the configuration of invoiced healthcheck.
type Healthcheck struct {
	// URL is the readiness endpoint asked.
	URL string
	// Timeout bounds the whole request, answer included.
	Timeout time.Duration
}

// ReadyURL returns the /readyz URL of a service whose --addr is addr, on a
// loopback address when addr listens on every interface. It fails when
// addr is not host:port.
func ReadyURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/readyz"}).String(), nil
}

// ParseHealthcheck reads the flags of invoiced healthcheck, each defaulting
// to its INVOICED_<NAME> environment variable as in serve. --url defaults
// to /readyz at serve's --addr as INVOICED_ADDR or serve's default sets it,
// so a container whose environment configures serve checks it with no
// flag. It returns flag.ErrHelp after printing usage to out when asked for
// help, and an error naming the bad flag or variable otherwise.
func ParseHealthcheck(args []string, getenv func(string) string, out io.Writer) (Healthcheck, error) {
	var h Healthcheck
	addr := DefaultAddr
	if v := getenv(EnvName("addr")); v != "" {
		addr = v
	}
	def, addrErr := ReadyURL(addr)
	fs := newCommandFlags("invoiced healthcheck", "Usage: invoiced healthcheck [--url <url>]\n\n"+
		"Asks a running service whether it is ready (GET /readyz) and exits 0 when it\n"+
		"answers 200, 1 otherwise, printing one line that says why. For container\n"+
		"healthchecks: the image runs it with no flag.", out)
	fs.StringVar(&h.URL, "url", def, "readiness URL to ask; default /readyz at serve's --addr (INVOICED_ADDR, else "+DefaultAddr+"), on loopback when that listens everywhere")
	fs.DurationVar(&h.Timeout, "timeout", 3*time.Second, "longest the answer may take")
	if err := fs.parse(args, getenv); err != nil {
		return Healthcheck{}, err
	}
	if h.URL == "" && addrErr != nil {
		return Healthcheck{}, fmt.Errorf("%s=%q, where --url would point by default: %w; set --url", EnvName("addr"), addr, addrErr)
	}
	return h, h.Validate()
}

// Validate reports the first problem: --url not an http(s) URL, or a
// --timeout that is not positive.
func (h Healthcheck) Validate() error {
	u, err := url.Parse(h.URL)
	if h.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url must be an http(s) URL, not %q", h.URL)
	}
	if h.Timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	return nil
}
