package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// runSecrets runs invoiced secrets init, add-key or reseal and prints what
// it did to stdout.
func runSecrets(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseSecrets(args, getenv, stderr)
	if err != nil {
		return usage(err)
	}
	switch cfg.Command {
	case config.SecretsInit:
		return initSecretsKey(cfg.Key, stdout)
	case config.SecretsAddKey:
		return addSecretsKey(cfg.Key, stdout)
	}
	return resealSecrets(ctx, cfg, stdout)
}

// initSecretsKey makes the key file with one new key unless it exists, and
// checks an existing one as a start would.
func initSecretsKey(key config.SecretsKey, stdout io.Writer) error {
	kr, made, err := key.Ensure()
	switch {
	case err != nil:
		return err
	case made:
		fmt.Fprintf(stdout, "secrets init: made %s with key %s; back it up apart from the data\n", key.Path(), kr.SealingKeyID())
	default:
		fmt.Fprintf(stdout, "secrets init: %s holds %d keys, key %s sealing; left as it is\n", key.Path(), len(kr.KeyIDs()), kr.SealingKeyID())
	}
	return nil
}

// addSecretsKey puts a new key at the top of the key file.
func addSecretsKey(key config.SecretsKey, stdout io.Writer) error {
	if err := key.MakeDir(); err != nil {
		return err
	}
	id, err := seal.AddKey(key.Path())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "secrets add-key: key %s is now first in %s. It seals once the service reloads the file "+
		"(SIGHUP or a restart of every api and dispatcher process); then run invoiced secrets reseal.\n", id, key.Path())
	return nil
}

// resealSecrets seals every stored subscription secret again under the key
// file's first key, reading the embedded server's store in --data or the
// NATS at --nats-url. It fails when a secret does not open with the file's
// keys, after sealing all the others.
func resealSecrets(ctx context.Context, cfg config.Secrets, stdout io.Writer) error {
	keys, err := seal.ReadKeyFile(cfg.Key.Path())
	if err != nil {
		return err
	}
	var srv *server.Server
	if cfg.Embedded() {
		if srv, err = broker.StartEmbedded(broker.Embedded{StoreDir: cfg.Key.Data, Listen: broker.ListenOff}); err != nil {
			return fmt.Errorf("%w (with the service running, use --nats-url to reach its NATS instead)", err)
		}
		defer func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		}()
	}
	nc, js, err := connectCommand(cfg.NATSURL, srv, "invoiced-secrets", cfg.NATSAuth)
	if err != nil {
		return err
	}
	defer nc.Close()
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	kv, err := js.KeyValue(setup, webhook.BucketSubscriptions)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		fmt.Fprintln(stdout, "secrets reseal: no subscriptions are stored")
		return nil
	}
	if err != nil {
		return fmt.Errorf("bucket %s: %w", webhook.BucketSubscriptions, err)
	}
	stream, err := js.Stream(setup, webhook.SubscriptionsStream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", webhook.SubscriptionsStream, err)
	}
	rep, err := webhook.Reseal{Bucket: kv, Stream: stream, Keys: keys, Rekey: true}.Run(ctx)
	if err != nil {
		return err
	}
	return reportReseal(stdout, rep, keys, cfg.Key.Path())
}

// reportReseal prints what a reseal did, and fails when it left secrets
// that do not open.
func reportReseal(w io.Writer, rep webhook.ResealReport, keys *seal.Keyring, path string) error {
	fmt.Fprintf(w, "secrets reseal: %d subscriptions; %d sealed from the clear, %d sealed again under key %s; "+
		"earlier revisions removed from %d records\n", rep.Subscriptions, rep.Sealed, rep.Rekeyed, keys.SealingKeyID(), rep.Purged)
	if len(rep.Unopenable) == 0 {
		fmt.Fprintf(w, "Every stored secret opens with key %s alone: once every api and dispatcher process has reloaded %s, "+
			"the other keys may leave it.\n", keys.SealingKeyID(), path)
		return nil
	}
	ids := make([]string, 0, len(rep.Unopenable))
	for _, u := range rep.Unopenable {
		fmt.Fprintf(w, "  subscription %s: %v\n", u.Subscription, u.Err)
		ids = append(ids, u.Subscription)
	}
	return fmt.Errorf("%d subscriptions hold secrets that no key in %s opens (%s): keep every key they need, or delete those subscriptions and create them again",
		len(ids), path, strings.Join(ids, ", "))
}
