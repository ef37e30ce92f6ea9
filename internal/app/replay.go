package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/invoiced/invoiced/internal/broker"
	"github.com/invoiced/invoiced/internal/config"
	"github.com/invoiced/invoiced/internal/replay"
	"github.com/nats-io/nats.go/jetstream"
)

// runReplay runs invoiced replay and prints its summary to stdout.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseReplay(args, getenv, time.Now(), stderr)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	nc, err := broker.Connect(cfg.NATSURL, nil, "invoiced-replay", nil, brokerAuth(cfg.NATSAuth))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return replay.Run(ctx, js, replay.Options{Since: cfg.Since, Subscription: cfg.Subscription, EventType: cfg.EventType, DryRun: cfg.DryRun},
		stdout, stderr)
}
