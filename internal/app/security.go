package app

import (
	"fmt"
	"log/slog"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/config"
)

// apiKeys returns every configured key: those given as a flag and those in
// the keys file. It fails when the file cannot be read or holds none.
func apiKeys(cfg config.Serve) ([]string, error) {
	keys := append([]string(nil), cfg.APIKeys...)
	if cfg.APIKeysFile != "" {
		more, err := config.ReadKeysFile(cfg.APIKeysFile)
		if err != nil {
			return nil, err
		}
		keys = append(keys, more...)
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
	return callers + "; " + targets
}
