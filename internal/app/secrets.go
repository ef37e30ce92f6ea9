package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/invoiced/invoiced/internal/config"
	"github.com/invoiced/invoiced/internal/seal"
	"github.com/invoiced/invoiced/internal/webhook"
)

// openSecretsKeys returns the keyring of the key file cfg names. The
// default file, secrets.key in --data, is made with a new key when it is
// missing; a file named with --secrets-key-file never is. It fails when the
// file is missing (and may not be made), not private to its owner, or
// malformed.
func openSecretsKeys(cfg config.Serve, log *slog.Logger) (*seal.Keyring, error) {
	key := cfg.SecretsKey()
	if !key.MayCreate() {
		kr, err := seal.ReadKeyFile(key.Path())
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w; make one with: invoiced secrets init --secrets-key-file %s", err, key.Path())
		}
		return kr, err
	}
	kr, made, err := ensureKeyFile(key)
	if err != nil {
		return nil, err
	}
	if made {
		log.Warn("made a new secrets key file; back it up apart from the data: without it no stored webhook signing secret can be used",
			"file", key.Path(), "key", kr.SealingKeyID())
	}
	if made && !cfg.Embedded() {
		log.Warn("every api and dispatcher process using this NATS must share this key file (--secrets-key-file): "+
			"a process with another key cannot sign the webhooks of subscriptions this one stores", "file", key.Path())
	}
	return kr, nil
}

// ensureKeyFile returns the keyring of key's file, making the file with one
// new key when there is none, and reports whether it made it. It fails as
// seal.ReadKeyFile does for a file that exists, and when one cannot be
// made.
func ensureKeyFile(key config.SecretsKey) (kr *seal.Keyring, made bool, err error) {
	kr, err = seal.ReadKeyFile(key.Path())
	if !errors.Is(err, fs.ErrNotExist) {
		return kr, false, err
	}
	if err := makeDir(key); err != nil {
		return nil, false, err
	}
	kr, err = seal.CreateKeyFile(key.Path())
	if errors.Is(err, fs.ErrExist) { // made by another process meanwhile
		kr, err = seal.ReadKeyFile(key.Path())
		return kr, false, err
	}
	return kr, err == nil, err
}

// makeDir makes --data when the key file is the default one in it; a key
// file named on purpose goes in a directory that exists.
func makeDir(key config.SecretsKey) error {
	if !key.MayCreate() {
		return nil
	}
	if err := os.MkdirAll(key.Data, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return nil
}

// sealStoredSecrets is the api role's pass at start: it seals every
// subscription secret still stored in the clear (a record written before
// secrets were sealed), removes the revisions that held one, and logs each
// subscription whose secrets the key file does not open. It fails when the
// bucket cannot be read or written.
func (s *Service) sealStoredSecrets(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := s.js.Stream(ctx, webhook.SubscriptionsStream)
	if err != nil {
		return fmt.Errorf("seal stored webhook secrets: %w", err)
	}
	rep, err := webhook.Reseal{Bucket: s.handles.Subscriptions, Stream: stream, Keys: s.secrets}.Run(ctx)
	if err != nil {
		return fmt.Errorf("seal stored webhook secrets: %w", err)
	}
	if rep.Sealed > 0 || rep.Purged > 0 {
		s.log.Info("webhook signing secrets sealed", "subscriptions", rep.Sealed, "histories_removed", rep.Purged,
			"key", s.secrets.SealingKeyID())
	}
	for _, u := range rep.Unopenable {
		s.log.Error("a webhook signing secret does not open with the secrets key file, so its webhooks cannot be signed; "+
			"give this process the key file the others use", "subscription", u.Subscription, "file", s.cfg.SecretsKey().Path(), "err", u.Err)
	}
	return nil
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

// secretsDescription says, for the start-up log, which key file seals.
func (s *Service) secretsDescription() string {
	if s.secrets == nil {
		return "not used by these roles"
	}
	return fmt.Sprintf("%s (key %s seals, %d in all)", s.cfg.SecretsKey().Path(), s.secrets.SealingKeyID(), len(s.secrets.KeyIDs()))
}
