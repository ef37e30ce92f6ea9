package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/invoiced/invoiced/internal/app"
	"github.com/invoiced/invoiced/internal/infra/config"
)

func runServe(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseServe(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	log := newLogger(stderr, cfg)
	hup := make(chan os.Signal, 1) // from here on SIGHUP reloads keys, never kills
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	svc, err := app.Start(ctx, cfg, log)
	if err != nil && ctx.Err() != nil {
		log.Info("stopped before serving", "err", err)
		return nil // asked to stop while starting: a clean exit
	}
	if err != nil {
		return err
	}
	attrs := []any{"version", config.BuildVersion(), "addr", "http://" + svc.Addr(), "roles", cfg.Roles,
		"nats", natsDescription(svc, cfg), "fsync", fsyncDescription(cfg), "data", dataDescription(cfg),
		"security", securityDescription(cfg), "secrets_key", secretsDescription(svc, cfg)}
	if addr := svc.PprofAddr(); addr != "" {
		attrs = append(attrs, "pprof", "http://"+addr+"/debug/pprof/")
	}
	log.Info("invoiced serving", attrs...)
	served := waitForStop(ctx, svc, hup, log)
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := svc.Shutdown(stopCtx); err != nil {
		return errors.Join(served, fmt.Errorf("shutdown: %w", err))
	}
	if served == nil {
		log.Info("stopped")
	}
	return served
}

// waitForStop serves until ctx ends or the HTTP server fails, reloading the
// API keys and the secrets key file on every SIGHUP; it returns the
// server's failure, if any.
func waitForStop(ctx context.Context, svc *app.Service, hup <-chan os.Signal, log *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down")
			return nil
		case err := <-svc.Done():
			log.Error("HTTP server stopped", "err", err)
			return fmt.Errorf("HTTP server: %w", err)
		case <-hup:
			if n, err := svc.ReloadKeys(); err != nil {
				log.Error("API keys not reloaded; the old ones stay", "err", err)
			} else {
				log.Info("API keys reloaded", "keys", n)
			}
			reloadSecretsKeys(svc, log)
		}
	}
}

// reloadSecretsKeys reads the secrets key file again and logs the outcome.
func reloadSecretsKeys(svc *app.Service, log *slog.Logger) {
	ids, err := svc.ReloadSecretsKeys()
	switch {
	case err != nil:
		log.Error("secrets key file not reloaded; the old keys stay", "err", err)
	case len(ids) > 0:
		log.Info("secrets key file reloaded", "sealing_key", ids[0], "keys", len(ids))
	}
}

// newLogger returns the logger cfg asks for. The JSON one writes every
// time.Duration as float milliseconds, its key ending in _ms (waited=1.5s
// becomes "waited_ms":1500); the text one keeps Go's duration strings.
func newLogger(w io.Writer, cfg config.Serve) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		opts.ReplaceAttr = durationsInMilliseconds
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationsInMilliseconds returns a, or, when it holds a time.Duration, the
// duration in float milliseconds under its key with _ms appended (unless
// the key ends so already).
func durationsInMilliseconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	key := a.Key
	if !strings.HasSuffix(key, "_ms") {
		key += "_ms"
	}
	return slog.Float64(key, float64(a.Value.Duration())/float64(time.Millisecond))
}
