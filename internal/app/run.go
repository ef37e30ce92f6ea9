package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/invoiced/invoiced/internal/config"
)

// Version is the version invoiced reports; the build may stamp it with
// -ldflags "-X github.com/invoiced/invoiced/internal/app.Version=…".
var Version = ""

// version returns Version or, unstamped, the module version of the build.
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// ErrUsage is returned, wrapped, by Run for a command line it cannot run.
var ErrUsage = errors.New("usage")

const commands = `Usage: invoiced [command] [flags]

Commands:
  serve     run the service (the default when no command is given)
  bench     measure the service against the floor the machine allows;
            bench history: memory, restart and reads as history grows
  replay    re-send the webhooks of stored events (invoiced replay --help)
  rebuild   build the read model again from the history (invoiced rebuild --help)
  listen    forward webhooks to an app on this machine (invoiced listen --help)
  secrets   make the secrets key file, add a key to it, or seal every stored
            webhook secret again under its first key (invoiced secrets --help)
  version   print the version
  help      print this help

Run "invoiced serve --help" for the flags.
`

// Run runs the invoiced command line args (without the program name) until
// it is done or ctx ends; for serve, ctx ending is the signal to shut down
// gracefully. It returns nil on a clean exit, an error wrapping ErrUsage for
// a bad command line, and any other error when the service fails.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stderr, getenv)
	case "bench":
		run := runBench
		if len(args) > 0 && args[0] == "history" {
			run, args = runBenchHistory, args[1:]
		}
		err := run(ctx, args, stdout, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "replay":
		err := runReplay(ctx, args, stdout, stderr, getenv)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "rebuild":
		err := runRebuild(ctx, args, stdout, stderr, getenv)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "listen":
		err := runListen(ctx, args, stdout, stderr, getenv)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "secrets":
		err := runSecrets(ctx, args, stdout, stderr, getenv)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "version":
		fmt.Fprintln(stdout, "invoiced", version())
		return nil
	case "help":
		fmt.Fprint(stdout, commands)
		return nil
	}
	fmt.Fprint(stderr, commands)
	return fmt.Errorf("%w: unknown command %q", ErrUsage, cmd)
}

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
	svc, err := Start(ctx, cfg, log)
	if err != nil && ctx.Err() != nil {
		log.Info("stopped before serving", "err", err)
		return nil // asked to stop while starting: a clean exit
	}
	if err != nil {
		return err
	}
	attrs := []any{"version", version(), "addr", "http://" + svc.Addr(), "roles", cfg.Roles,
		"nats", natsDescription(svc, cfg), "fsync", fsyncDescription(cfg), "data", cfg.Data,
		"security", securityDescription(cfg), "secrets_key", svc.secretsDescription()}
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
func waitForStop(ctx context.Context, svc *Service, hup <-chan os.Signal, log *slog.Logger) error {
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
func reloadSecretsKeys(svc *Service, log *slog.Logger) {
	ids, err := svc.ReloadSecretsKeys()
	switch {
	case err != nil:
		log.Error("secrets key file not reloaded; the old keys stay", "err", err)
	case len(ids) > 0:
		log.Info("secrets key file reloaded", "sealing_key", ids[0], "keys", len(ids))
	}
}

func natsDescription(svc *Service, cfg config.Serve) string {
	switch {
	case !cfg.Embedded():
		return "external"
	case svc.NATSURL() == "":
		return "embedded (in-process only)"
	}
	return "embedded at " + svc.NATSURL()
}

func fsyncDescription(cfg config.Serve) string {
	if !cfg.Embedded() {
		return "set by the NATS servers"
	}
	return cfg.Fsync
}

func newLogger(w io.Writer, cfg config.Serve) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
