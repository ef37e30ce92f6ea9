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
	"strings"
	"syscall"
	"time"

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

// usage returns what a command answers for err from parsing its command
// line: flag.ErrHelp as it is (the help was printed), anything else
// wrapped with ErrUsage.
func usage(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUsage, err)
}

const commands = `Usage: invoiced [command] [flags]

Commands:
  serve        run the service (the default when no command is given)
  bench        measure the service against the floor the machine allows;
               bench history: memory, restart and reads as history grows
  replay       re-send the webhooks of stored events
  rebuild      build the read model again from the history
  listen       print the service's webhooks, or forward them to an app on
               this machine
  secrets      make the secrets key file, add a key to it, or seal every
               stored webhook secret again under its first key
  healthcheck  ask a running service whether it is ready (GET /readyz):
               exit 0 if so, 1 if not, with one line saying why
  version      print the version (also --version)
  help         print this help (also --help and -h)

Every command takes --flags, and each flag can also be set with the
environment variable INVOICED_<FLAG> (--nats-url: INVOICED_NATS_URL; the nats
CLI's NATS_URL is never read); a flag on the command line beats its variable.
"invoiced <command> --help" (or "invoiced help <command>") lists a command's
flags.
`

// command runs one command of the command line with the arguments after
// its name.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error

// commandNamed returns the command called name, and whether there is one.
func commandNamed(name string) (command, bool) {
	switch name {
	case "serve":
		return func(ctx context.Context, args []string, _, stderr io.Writer, getenv func(string) string) error {
			return runServe(ctx, args, stderr, getenv)
		}, true
	case "bench":
		return func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
			if len(args) > 0 && args[0] == "history" {
				return runBenchHistory(ctx, args[1:], stdout, stderr, getenv)
			}
			return runBench(ctx, args, stdout, stderr, getenv)
		}, true
	case "replay":
		return runReplay, true
	case "rebuild":
		return runRebuild, true
	case "listen":
		return runListen, true
	case "secrets":
		return runSecrets, true
	case "healthcheck":
		return runHealthcheck, true
	}
	return nil, false
}

// Run runs the invoiced command line args (without the program name) until
// it is done or ctx ends; for serve, ctx ending is the signal to shut down
// gracefully. It returns nil on a clean exit and after printing help, an
// error wrapping ErrUsage for a bad command line, and any other error when
// the command fails.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			args = append([]string{"help"}, args[1:]...)
		case "-version", "--version":
			args = append([]string{"version"}, args[1:]...)
		}
	}
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	switch name {
	case "version":
		fmt.Fprintln(stdout, "invoiced", version())
		return nil
	case "help":
		if len(args) == 0 || args[0] == "help" || args[0] == "version" {
			fmt.Fprint(stdout, commands)
			return nil
		}
		name, args = args[0], []string{"--help"}
	}
	run, ok := commandNamed(name)
	if !ok {
		fmt.Fprint(stderr, commands)
		return fmt.Errorf("%w: unknown command %q", ErrUsage, name)
	}
	err := run(ctx, args, stdout, stderr, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
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
		"nats", natsDescription(svc, cfg), "fsync", fsyncDescription(cfg), "data", dataDescription(cfg),
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

// dataDescription says, for the start-up log, what --data holds for this
// process: the embedded JetStream store, the api role's read model, the
// default secrets key file, the embedded server's user seed; or that it
// holds nothing.
func dataDescription(cfg config.Serve) string {
	var holds []string
	if cfg.Embedded() {
		holds = append(holds, "JetStream store")
	}
	if cfg.Has(config.RoleAPI) {
		holds = append(holds, "read model")
	}
	if cfg.NeedsSecretsKey() && cfg.SecretsKey().MayCreate() {
		holds = append(holds, "secrets key file")
	}
	if brokerLocked(cfg) {
		holds = append(holds, "NATS user seed")
	}
	switch {
	case len(holds) == 0:
		return "unused (JetStream is on the external NATS)"
	case !cfg.Embedded():
		return cfg.Data + " (" + strings.Join(holds, ", ") + "; JetStream is on the external NATS)"
	}
	return cfg.Data + " (" + strings.Join(holds, ", ") + ")"
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
