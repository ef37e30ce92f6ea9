package config

import (
	"errors"
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
// defaulting to its INVOICED_<NAME> environment variable as in serve
// (NATS_URL is not read). It returns flag.ErrHelp after printing usage to
// out when asked for help, and an error naming the bad flag otherwise.
func ParseRebuild(args []string, getenv func(string) string, out io.Writer) (Rebuild, error) {
	var r Rebuild
	fs := newCommandFlags("invoiced rebuild", "Usage: invoiced rebuild [flags]\n\n"+
		"Builds the api role's read model (--data/readmodel.db) again from the HISTORY\n"+
		"stream, while the process that uses it is stopped.", out)
	fs.StringVar(&r.Data, "data", "./data", "data directory of the api process whose read model to rebuild")
	fs.StringVar(&r.NATSURL, "nats-url", "", "URL of the NATS server or cluster holding the streams; empty reads the embedded server's store in --data")
	r.NATSAuth.register(fs.FlagSet)
	if err := fs.parse(args, getenv); err != nil {
		return Rebuild{}, err
	}
	return r, r.Validate()
}

// Validate reports the first problem: no --data, or NATS sign-in options
// without --nats-url, that do not fit together or name unreadable files.
func (r Rebuild) Validate() error {
	if r.Data == "" {
		return errors.New("--data must name the directory of the read model")
	}
	return r.NATSAuth.validate(r.Embedded())
}
