package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/invoiced/invoiced/internal/feature/replay"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// connectCommand connects a command that works on the streams (replay,
// secrets reseal) to NATS: at url, or to srv in this process. It fails
// when NATS cannot be reached or JetStream used.
func connectCommand(url string, srv *server.Server, name string, auth config.NATSAuth) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := broker.Connect(url, srv, name, nil, auth.Broker())
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// runReplay runs invoiced replay and prints its summary to stdout.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseReplay(args, getenv, time.Now(), stderr)
	if err != nil {
		return usage(err)
	}
	nc, js, err := connectCommand(cfg.NATSURL, nil, "invoiced-replay", cfg.NATSAuth)
	if err != nil {
		return err
	}
	defer nc.Close()
	return replay.Run(ctx, js, replay.Options{Since: cfg.Since, Subscription: cfg.Subscription, EventType: cfg.EventType, DryRun: cfg.DryRun},
		stdout, stderr)
}
