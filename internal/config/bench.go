package config

import (
	"flag"
	"fmt"
	"io"
	"time"
)

// MaxBenchRate is the highest --rate: one request a microsecond.
const MaxBenchRate = 1_000_000

// Bench is the configuration of invoiced bench.
type Bench struct {
	Target      string
	APIKey      string
	NATSURL     string
	Rate        float64
	Concurrency int
	Duration    time.Duration
	Grace       time.Duration
	Fsync       string
	JSON        bool
	NoFloor     bool
	PProf       string
}

// ParseBench reads the flags of invoiced bench (no environment: a benchmark
// is described by its command line). It returns flag.ErrHelp after printing
// usage to out when asked for help, and an error naming the bad flag
// otherwise.
func ParseBench(args []string, out io.Writer) (Bench, error) {
	var b Bench
	fs := flag.NewFlagSet("invoiced bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&b.Target, "target", "", "base URL of a running service to measure; empty starts an embedded one")
	fs.StringVar(&b.APIKey, "api-key", "", "API key for --target")
	fs.StringVar(&b.NATSURL, "nats-url", "", "NATS for the floor's publishes; empty embeds one with the same --fsync")
	fs.Float64Var(&b.Rate, "rate", 0, "invoices started per second (open loop); 0 runs --concurrency clients back to back")
	fs.IntVar(&b.Concurrency, "concurrency", 32, "clients (closed loop), or the cap on requests in flight (open loop)")
	fs.DurationVar(&b.Duration, "duration", 10*time.Second, "how long invoices are created")
	fs.DurationVar(&b.Grace, "grace", 30*time.Second, "how long to wait after the load for the last webhooks")
	fs.StringVar(&b.Fsync, "fsync", FsyncAlways, "embedded servers' disk sync: always or interval")
	fs.BoolVar(&b.JSON, "json", false, "print the report as one JSON object")
	fs.BoolVar(&b.NoFloor, "no-floor", false, "skip measuring the floor")
	fs.StringVar(&b.PProf, "pprof", "", "directory to write cpu.prof and heap.prof into")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: invoiced bench [flags]\n\nMeasures the service against the floor the machine allows, in one run.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Bench{}, err
	}
	switch {
	case fs.NArg() > 0:
		return Bench{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case b.Fsync != FsyncAlways && b.Fsync != FsyncInterval:
		return Bench{}, fmt.Errorf("--fsync must be %s or %s, not %q", FsyncAlways, FsyncInterval, b.Fsync)
	case !(b.Rate >= 0 && b.Rate <= MaxBenchRate) || b.Concurrency < 1 || b.Duration <= 0 || b.Grace < 0:
		return Bench{}, fmt.Errorf("--rate must be 0 to %d, --concurrency at least 1, --duration positive", MaxBenchRate)
	}
	return b, nil
}
