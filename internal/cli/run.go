// Package cli is invoiced's command line: it parses each command's flags
// with internal/infra/config and runs serve (internal/app), bench, replay,
// rebuild, listen, secrets and healthcheck.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/invoiced/invoiced/internal/infra/config"
)

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
		fmt.Fprintln(stdout, "invoiced", config.BuildVersion())
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
