package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/invoiced/invoiced/internal/infra/broker"
)

// NATSAuth is how invoiced signs in to an external NATS server, beyond a
// user and password or a token in --nats-url.
type NATSAuth struct {
	// Creds is a .creds file (user JWT and nkey seed).
	Creds string
	// NKey is a file holding a user nkey seed.
	NKey string
	// TLSCA, TLSCert and TLSKey are PEM files: the CA that signs the
	// servers' certificates, and a client certificate with its key.
	TLSCA, TLSCert, TLSKey string
}

// Broker returns the sign-in a describes.
func (a NATSAuth) Broker() broker.Auth {
	return broker.Auth{CredsFile: a.Creds, NKeySeedFile: a.NKey, TLSCA: a.TLSCA, TLSCert: a.TLSCert, TLSKey: a.TLSKey}
}

// natsFlags are the flags that say how to reach an external NATS.
var natsFlags = []string{"nats-url", "nats-creds", "nats-nkey", "nats-tls-ca", "nats-tls-cert", "nats-tls-key"}

func (a *NATSAuth) register(fs *flag.FlagSet) {
	fs.StringVar(&a.Creds, "nats-creds", "", "NATS user credentials file (.creds: JWT and nkey seed) for --nats-url")
	fs.StringVar(&a.NKey, "nats-nkey", "", "file holding a NATS user nkey seed, for --nats-url")
	fs.StringVar(&a.TLSCA, "nats-tls-ca", "", "PEM file of the CA that signs the NATS servers' certificates (default: the system's roots)")
	fs.StringVar(&a.TLSCert, "nats-tls-cert", "", "PEM client certificate for NATS servers that verify clients (with --nats-tls-key)")
	fs.StringVar(&a.TLSKey, "nats-tls-key", "", "PEM key of --nats-tls-cert")
}

// given reports whether any option is set.
func (a NATSAuth) given() bool {
	return a.Creds != "" || a.NKey != "" || a.TLSCA != "" || a.TLSCert != "" || a.TLSKey != ""
}

// validate reports the first problem: options without an external server,
// two ways to sign in, half a client certificate, or a file that cannot
// be read.
func (a NATSAuth) validate(embedded bool) error {
	switch {
	case embedded && a.given():
		return errors.New("--nats-creds, --nats-nkey and --nats-tls-* are for an external server: give --nats-url")
	case a.Creds != "" && a.NKey != "":
		return errors.New("--nats-creds and --nats-nkey are two ways to sign in: give one")
	case (a.TLSCert == "") != (a.TLSKey == ""):
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	for _, f := range []struct{ flag, path string }{
		{"--nats-creds", a.Creds}, {"--nats-nkey", a.NKey}, {"--nats-tls-ca", a.TLSCA},
		{"--nats-tls-cert", a.TLSCert}, {"--nats-tls-key", a.TLSKey},
	} {
		if f.path == "" {
			continue
		}
		file, err := os.Open(f.path)
		if err != nil {
			return fmt.Errorf("%s: %w", f.flag, err)
		}
		file.Close()
	}
	return nil
}

// NATSWhere names the NATS the process uses, for the log and /readyz: the
// embedded server, or --nats-url with any user, password or token hidden.
func (s Serve) NATSWhere() string {
	if s.Embedded() {
		return "the embedded server (in-process)"
	}
	return redactURLs(s.NATSURL)
}

// redactURLs returns a comma-separated list of URLs with the user
// information of each replaced, since it may hold a password or token.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil:
			parts[i] = "(unparsable URL)"
		case u.User != nil:
			u.User = url.User("redacted")
			parts[i] = u.String()
		default:
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// Streams returns the settings of the streams.
func (s Serve) Streams() broker.Streams {
	return broker.Streams{Replicas: s.Replicas, DedupWindow: s.DedupWindow, HistoryRetention: s.HistoryRetention,
		// Only the embedded server is known to sync such a segment often
		// enough (broker.HistorySyncInterval).
		HistoryUnsynced: s.Embedded() && s.Fsync == FsyncAlways}
}
