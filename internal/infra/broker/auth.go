package broker

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Auth is how invoiced proves itself to an external NATS server, beyond a
// user and password or a token given in the URL (nats://user:pass@host,
// nats://token@host), which the client reads from the URL itself.
type Auth struct {
	// CredsFile is a .creds file: a user JWT and its nkey seed.
	CredsFile string
	// NKeySeedFile holds a user nkey seed (SU…).
	NKeySeedFile string
	// TLSCA verifies the server's certificate (PEM); empty means the
	// system's roots.
	TLSCA string
	// TLSCert and TLSKey are a client certificate and its key (PEM), for
	// servers that verify clients.
	TLSCert, TLSKey string
}

// Validate reports the first contradiction: both a creds file and an nkey,
// or a client certificate without its key (or the reverse).
func (a Auth) Validate() error {
	switch {
	case a.CredsFile != "" && a.NKeySeedFile != "":
		return errors.New("a creds file and an nkey seed are two ways to sign in: give one")
	case (a.TLSCert == "") != (a.TLSKey == ""):
		return errors.New("a TLS client certificate needs its key, and a key its certificate")
	}
	return nil
}

// Options returns the connection options that carry a. It fails when a is
// invalid or the nkey seed cannot be read.
func (a Auth) Options() ([]nats.Option, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	var opts []nats.Option
	if a.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	}
	if a.NKeySeedFile != "" {
		opt, err := nats.NkeyOptionFromSeed(a.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nkey seed %s: %w", a.NKeySeedFile, err)
		}
		opts = append(opts, opt)
	}
	if a.TLSCA != "" {
		opts = append(opts, nats.RootCAs(a.TLSCA))
	}
	if a.TLSCert != "" {
		opts = append(opts, nats.ClientCert(a.TLSCert, a.TLSKey))
	}
	return opts, nil
}
