package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Rebuild is the configuration of invoiced rebuild.
type Rebuild struct {
	Data     string
	NATSURL  string
	NATSAuth NATSAuth
}

// Embedded reports whether the streams are read from the embedded
// server's store in Data rather than from --nats-url.
func (r Rebuild) Embedded() bool { return r.NATSURL == "" }

// ParseRebuild reads the flags of invoiced rebuild from args, each
// defaulting to its INVOICED_<NAME> environment variable as in serve (but
// for NATS_URL, which the nats CLI uses too). It returns flag.ErrHelp after
// printing usage to out when asked for help, and an error naming the bad
// flag otherwise.
func ParseRebuild(args []string, getenv func(string) string, out io.Writer) (Rebuild, error) {
	var r Rebuild
	fs := flag.NewFlagSet("invoiced rebuild", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&r.Data, "data", "./data", "data directory of the api process whose read model to rebuild")
	fs.StringVar(&r.NATSURL, "nats-url", "", "URL of the NATS server or cluster holding the streams; empty reads the embedded server's store in --data")
	r.NATSAuth.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: invoiced rebuild [flags]\n\nBuilds the api role's read model (--data/readmodel.db) again from the HISTORY\nstream, while the process that uses it is stopped. Every flag can also be set\nwith the environment variable INVOICED_<FLAG>.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Rebuild{}, err
	}
	if fs.NArg() > 0 {
		return Rebuild{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := applyEnv(fs, func(name string) string {
		if name == "NATS_URL" {
			return ""
		}
		return getenv(name)
	}); err != nil {
		return Rebuild{}, err
	}
	if r.Data == "" {
		return Rebuild{}, errors.New("--data must name the directory of the read model")
	}
	return r, r.NATSAuth.validate(r.Embedded())
}
