package app

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/broker"
	"github.com/invoiced/invoiced/internal/config"
)

// apiKeys returns every configured key: those given as a flag, each an
// account of its own, and those in the keys file, with the accounts and
// rights it names. It fails when the file cannot be read or is malformed.
func apiKeys(cfg config.Serve) ([]api.Key, error) {
	var keys []api.Key
	for _, k := range cfg.APIKeys {
		keys = append(keys, api.Key{Secret: k})
	}
	if cfg.APIKeysFile != "" {
		more, err := config.ReadKeysFile(cfg.APIKeysFile)
		if err != nil {
			return nil, err
		}
		for _, k := range more {
			keys = append(keys, api.Key{Secret: k.Key, Account: k.Account, Operator: k.Operator})
		}
	}
	return keys, nil
}

// newAuth returns the API's key and rate check.
func newAuth(cfg config.Serve, log *slog.Logger) (*api.Auth, error) {
	keys, err := apiKeys(cfg)
	if err != nil {
		return nil, err
	}
	return api.NewAuth(keys, api.AuthConfig{RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, Logger: log})
}

// ReloadKeys reads the API keys again, as on SIGHUP, and returns how many
// are accepted now. It fails, keeping the keys it had, when the keys file
// cannot be read or holds none.
func (s *Service) ReloadKeys() (int, error) {
	if s.auth == nil {
		return 0, nil
	}
	keys, err := apiKeys(s.cfg)
	if err != nil {
		return 0, err
	}
	s.auth.SetKeys(keys)
	return len(keys), nil
}

// brokerUser is the one user a locked embedded NATS server admits.
type brokerUser struct {
	public string      // its public nkey; "" leaves the server open
	auth   broker.Auth // how this process signs in as it
}

// embeddedUser returns the user the embedded server admits alone, its seed
// kept in --data (made on first start), when anyone beyond this machine's
// users might call: API keys are set or --addr is not loopback. With no
// TCP listener, or a trusted machine, it returns none. It fails when the
// seed file cannot be read, made, or is readable by others.
func embeddedUser(cfg config.Serve) (brokerUser, error) {
	if !brokerLocked(cfg) {
		return brokerUser{}, nil
	}
	seed := filepath.Join(cfg.Data, broker.UserFile)
	public, err := broker.LoadOrCreateUser(seed)
	if err != nil {
		return brokerUser{}, err
	}
	return brokerUser{public: public, auth: broker.Auth{NKeySeedFile: seed}}, nil
}

// brokerLocked reports whether the embedded server's listener demands its
// user's seed.
func brokerLocked(cfg config.Serve) bool {
	return cfg.Embedded() && cfg.NATSListen != broker.ListenOff && (cfg.KeysConfigured() || !config.IsLoopback(cfg.Addr))
}

// brokerDescription says, for the start-up log, who may reach NATS.
func brokerDescription(cfg config.Serve) string {
	switch {
	case !cfg.Embedded():
		return "NATS as its server's accounts allow"
	case cfg.NATSListen == broker.ListenOff:
		return "embedded NATS in-process only"
	case brokerLocked(cfg):
		return "embedded NATS on " + cfg.NATSListen + " admits only the nkey in " + filepath.Join(cfg.Data, broker.UserFile)
	}
	return "embedded NATS on " + cfg.NATSListen + " open to anyone on this machine"
}

// securityDescription says, for the start-up log, how exposed the service
// is.
func securityDescription(cfg config.Serve) string {
	callers := "no API key required (loopback: this machine is trusted)"
	if cfg.KeysConfigured() {
		callers = "API key required"
	}
	targets := "webhooks may reach private addresses"
	if !cfg.WebhookAllowPrivate {
		targets = "webhooks blocked from loopback, private and link-local addresses"
		if cfg.WebhookAllowCIDRs != "" {
			targets += " except " + cfg.WebhookAllowCIDRs
		}
	}
	if cfg.WebhookRequireHTTPS {
		targets += ", https only"
	}
	if cfg.RateLimit > 0 {
		callers += fmt.Sprintf(", %g requests/s per key (burst %d)", cfg.RateLimit, cfg.RateBurst)
	}
	return callers + "; " + targets + "; " + brokerDescription(cfg)
}
