package app

import (
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/infra/config"
)

// apiKeys returns every configured key (config.Serve.Keys) as the API
// takes it. It fails when the keys file cannot be read or is malformed.
func apiKeys(cfg config.Serve) ([]api.Key, error) {
	all, err := cfg.Keys()
	keys := make([]api.Key, 0, len(all))
	for _, k := range all {
		keys = append(keys, api.Key{Secret: k.Key, Account: k.Account, Operator: k.Operator})
	}
	return keys, err
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
