package app

import (
	"context"
	"fmt"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/seal"
)

// sealStoredSecrets is the api role's pass at start (webhook.SealAtStart).
func (s *Service) sealStoredSecrets(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := s.js.Stream(ctx, webhook.SubscriptionsStream)
	if err != nil {
		return fmt.Errorf("seal stored webhook secrets: %w", err)
	}
	return webhook.SealAtStart(ctx, webhook.Reseal{Bucket: s.handles.Subscriptions, Stream: stream, Keys: s.secrets},
		s.log, s.cfg.SecretsKey().Path())
}

// ReloadSecretsKeys reads the secrets key file again, as on SIGHUP, and
// returns the IDs of its keys, the one that seals first; a process with no
// role that touches secrets returns none. It fails, keeping the keys it
// had, when the file is missing, not private or malformed.
func (s *Service) ReloadSecretsKeys() ([]string, error) {
	if s.secrets == nil {
		return nil, nil
	}
	kr, err := seal.ReadKeyFile(s.cfg.SecretsKey().Path())
	if err != nil {
		return nil, err
	}
	s.secrets.Replace(kr)
	return s.secrets.KeyIDs(), nil
}

// SecretsKeyIDs returns the IDs of the secrets key file's keys, the one
// that seals first, or none for a process whose roles hold no secrets.
func (s *Service) SecretsKeyIDs() []string {
	if s.secrets == nil {
		return nil
	}
	return s.secrets.KeyIDs()
}
