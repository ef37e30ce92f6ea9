package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runRebuild runs invoiced rebuild: it empties the read model in --data
// and builds it again from the history, with a progress line on a
// terminal, and prints how far it got.
func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseRebuild(args, getenv, stderr)
	if err != nil {
		return usage(err)
	}
	store, err := readmodel.Open(filepath.Join(cfg.Data, readmodel.FileName))
	if err != nil {
		return err
	}
	defer store.Close()
	var srv *server.Server
	if cfg.Embedded() {
		if srv, err = broker.StartEmbedded(broker.Embedded{StoreDir: cfg.Data, Listen: broker.ListenOff}); err != nil {
			return err
		}
		defer srv.Shutdown()
	}
	nc, err := broker.Connect(cfg.NATSURL, srv, "invoiced-rebuild", nil, cfg.NATSAuth.Broker())
	if err != nil {
		return err
	}
	defer nc.Close()
	started := time.Now()
	if err := rebuild(ctx, nc, store, stderr); err != nil {
		return err
	}
	segment, seq := store.HistoryApplied()
	fmt.Fprintf(stdout, "rebuild: %s holds the history up to message %d of %s, in %s\n",
		store.Path(), seq, segment, time.Since(started).Round(time.Millisecond))
	return nil
}

// rebuild rebuilds store from the history and live records reached by nc.
func rebuild(ctx context.Context, nc *nats.Conn, store *readmodel.Store, progressTo io.Writer) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	live, err := js.KeyValue(setup, webhook.BucketDeliveries)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", webhook.BucketDeliveries, err)
	}
	return store.Rebuild(ctx, js, live, progressTo)
}
