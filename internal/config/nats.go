package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
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
