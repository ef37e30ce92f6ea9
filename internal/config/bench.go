package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
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

// BenchHistory is the configuration of invoiced bench history.
type BenchHistory struct {
	Sizes   []int
	Runs    int
	Fsync   string
	Data    string
	Reads   int
	PostFor time.Duration
	JSON    bool
}

// ParseBenchHistory reads the flags of invoiced bench history. It returns
// flag.ErrHelp after printing usage to out when asked for help, and an
// error naming the bad flag otherwise.
func ParseBenchHistory(args []string, out io.Writer) (BenchHistory, error) {
	var b BenchHistory
	var sizes string
	fs := flag.NewFlagSet("invoiced bench history", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&sizes, "sizes", "1000000,4000000", "history sizes to measure at, in invoices, ascending")
	fs.IntVar(&b.Runs, "runs", 3, "measurements (kill -9, restart, measure) at each size")
	fs.StringVar(&b.Fsync, "fsync", FsyncInterval, "the service's --fsync")
	fs.StringVar(&b.Data, "data", "", "data directory of the service measured, kept afterwards; empty uses a temporary one, removed")
	fs.IntVar(&b.Reads, "reads", 1000, "requests of each read timed per measurement")
	fs.DurationVar(&b.PostFor, "post-duration", 10*time.Second, "how long each measurement times POST /invoices, 32 clients")
	fs.BoolVar(&b.JSON, "json", false, "print every measurement as JSON")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: invoiced bench history [flags]\n\nMeasures memory, restart time, reads and writes of one service as its history\ngrows: nearly empty, then at every size, after kill -9 and a restart.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return BenchHistory{}, err
	}
	for _, s := range splitList(sizes) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || (len(b.Sizes) > 0 && n <= b.Sizes[len(b.Sizes)-1]) {
			return BenchHistory{}, fmt.Errorf("--sizes must be ascending positive counts, not %q", sizes)
		}
		b.Sizes = append(b.Sizes, n)
	}
	switch {
	case fs.NArg() > 0:
		return BenchHistory{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case len(b.Sizes) == 0:
		return BenchHistory{}, errors.New("--sizes names no size")
	case b.Fsync != FsyncAlways && b.Fsync != FsyncInterval:
		return BenchHistory{}, fmt.Errorf("--fsync must be %s or %s, not %q", FsyncAlways, FsyncInterval, b.Fsync)
	case b.Runs < 1 || b.Reads < 1 || b.PostFor <= 0:
		return BenchHistory{}, errors.New("--runs and --reads must be at least 1, --post-duration positive")
	}
	return b, nil
}
