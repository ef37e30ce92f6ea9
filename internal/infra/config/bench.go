package config

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
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
	Trace       bool
	// Ordering and EventTypes are the receiver's subscription's.
	Ordering   string
	EventTypes []string
}

// ParseBench is ParseBenchEnv with an empty environment: the flags alone.
func ParseBench(args []string, out io.Writer) (Bench, error) {
	return ParseBenchEnv(args, noEnvironment, out)
}

// ParseBenchEnv reads the flags of invoiced bench, each defaulting to its
// INVOICED_<NAME> environment variable as in serve, but for --nats-url:
// INVOICED_NATS_URL names the service's NATS, where the floor must not
// write. It returns flag.ErrHelp after printing usage to out when asked for
// help, and an error naming the bad flag otherwise.
func ParseBenchEnv(args []string, getenv func(string) string, out io.Writer) (Bench, error) {
	var b Bench
	fs := newCommandFlags("invoiced bench", "Usage: invoiced bench [flags]\n       invoiced bench history [flags]   (invoiced bench history --help)\n\n"+
		"Measures the service against the floor the machine allows, in one run.", out)
	fs.StringVar(&b.Target, "target", "", "base URL of a running service to measure; empty starts an embedded one")
	fs.StringVar(&b.APIKey, "api-key", "", "API key for --target")
	fs.StringVar(&b.NATSURL, "nats-url", "", "NATS for the floor's publishes; empty embeds one with the same --fsync")
	fs.commandLineOnly("nats-url", "INVOICED_NATS_URL is the service's NATS, not the floor's")
	fs.Float64Var(&b.Rate, "rate", 0, "invoices started per second (open loop); 0 runs --concurrency clients back to back")
	fs.IntVar(&b.Concurrency, "concurrency", 32, "clients (closed loop), or the cap on requests in flight (open loop)")
	fs.DurationVar(&b.Duration, "duration", 10*time.Second, "how long invoices are created")
	fs.DurationVar(&b.Grace, "grace", 30*time.Second, "how long to wait after the load for the last webhooks")
	fs.StringVar(&b.Fsync, "fsync", FsyncAlways, "embedded servers' disk sync: always or interval")
	fs.BoolVar(&b.JSON, "json", false, "print the report as one JSON object")
	fs.BoolVar(&b.NoFloor, "no-floor", false, "skip measuring the floor")
	fs.StringVar(&b.PProf, "pprof", "", "directory to write cpu.prof and heap.prof into")
	fs.BoolVar(&b.Trace, "trace", false, "export every trace of the embedded service (--otlp-endpoint, all sampled) to an OTLP receiver in this process, which counts and drops them: what tracing costs")
	fs.StringVar(&b.Ordering, "ordering", webhook.OrderingNone, "the receiver's subscription's ordering: none or per_invoice (each outcome after its invoice.created)")
	var types string
	fs.StringVar(&types, "event-types", "", "the receiver's subscription's event types, among "+webhook.EventInvoiceCreated+" and "+webhook.EventInvoiceProcessed+
		"; empty: "+webhook.EventInvoiceProcessed+", and "+webhook.EventInvoiceCreated+" too with --ordering "+webhook.OrderingPerInvoice)
	if err := fs.parse(args, getenv); err != nil {
		return Bench{}, err
	}
	b.EventTypes = splitList(types)
	if len(b.EventTypes) == 0 {
		b.EventTypes = []string{webhook.EventInvoiceProcessed}
		if b.Ordering == webhook.OrderingPerInvoice {
			b.EventTypes = []string{webhook.EventInvoiceCreated, webhook.EventInvoiceProcessed}
		}
	}
	return b, b.Validate()
}

// Validate reports the first problem: an unknown --fsync or --ordering,
// event types without the outcome end to end is timed to, or a load that
// cannot be driven.
func (b Bench) Validate() error {
	switch {
	case b.Fsync != FsyncAlways && b.Fsync != FsyncInterval:
		return fmt.Errorf("--fsync must be %s or %s, not %q", FsyncAlways, FsyncInterval, b.Fsync)
	case !(b.Rate >= 0 && b.Rate <= MaxBenchRate) || b.Concurrency < 1 || b.Duration <= 0 || b.Grace < 0:
		return fmt.Errorf("--rate must be 0 to %d, --concurrency at least 1, --duration positive", MaxBenchRate)
	case b.Ordering != webhook.OrderingNone && b.Ordering != webhook.OrderingPerInvoice:
		return fmt.Errorf("--ordering must be %s or %s, not %q", webhook.OrderingNone, webhook.OrderingPerInvoice, b.Ordering)
	case !slices.Contains(b.EventTypes, webhook.EventInvoiceProcessed) || slices.ContainsFunc(b.EventTypes, func(t string) bool { return t != webhook.EventInvoiceCreated && t != webhook.EventInvoiceProcessed }):
		return fmt.Errorf("--event-types must name %s, and may name %s, not %q", webhook.EventInvoiceProcessed, webhook.EventInvoiceCreated, strings.Join(b.EventTypes, ","))
	case b.Trace && b.Target != "":
		return errors.New("--trace traces the embedded service; a --target's tracing is its own --otlp-endpoint")
	}
	return nil
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

// ParseBenchHistoryEnv reads the flags of invoiced bench history, each
// defaulting to its INVOICED_<NAME> environment variable as in serve, but
// for --data: INVOICED_DATA is a service's data directory, which a
// benchmark must never fill. It returns flag.ErrHelp after printing usage
// to out when asked for help, and an error naming the bad flag otherwise.
func ParseBenchHistoryEnv(args []string, getenv func(string) string, out io.Writer) (BenchHistory, error) {
	var b BenchHistory
	var sizes string
	fs := newCommandFlags("invoiced bench history", "Usage: invoiced bench history [flags]\n\n"+
		"Measures memory, restart time, reads and writes of one service as its history\n"+
		"grows: nearly empty, then at every size, after kill -9 and a restart.", out)
	fs.StringVar(&sizes, "sizes", "1000000,4000000", "history sizes to measure at, in invoices, ascending")
	fs.IntVar(&b.Runs, "runs", 3, "measurements (kill -9, restart, measure) at each size")
	fs.StringVar(&b.Fsync, "fsync", FsyncInterval, "the service's --fsync")
	fs.StringVar(&b.Data, "data", "", "data directory of the service measured, kept afterwards; empty uses a temporary one, removed")
	fs.commandLineOnly("data", "INVOICED_DATA is a service's data directory, not a benchmark's")
	fs.IntVar(&b.Reads, "reads", 1000, "requests of each read timed per measurement")
	fs.DurationVar(&b.PostFor, "post-duration", 10*time.Second, "how long each measurement times POST /invoices, 32 clients")
	fs.BoolVar(&b.JSON, "json", false, "print every measurement as JSON")
	if err := fs.parse(args, getenv); err != nil {
		return BenchHistory{}, err
	}
	for _, s := range splitList(sizes) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || (len(b.Sizes) > 0 && n <= b.Sizes[len(b.Sizes)-1]) {
			return BenchHistory{}, fmt.Errorf("--sizes must be ascending positive counts, not %q", sizes)
		}
		b.Sizes = append(b.Sizes, n)
	}
	return b, b.Validate()
}

// Validate reports the first problem: no size, an unknown --fsync, or a
// count or duration out of range.
func (b BenchHistory) Validate() error {
	switch {
	case len(b.Sizes) == 0:
		return errors.New("--sizes names no size")
	case b.Fsync != FsyncAlways && b.Fsync != FsyncInterval:
		return fmt.Errorf("--fsync must be %s or %s, not %q", FsyncAlways, FsyncInterval, b.Fsync)
	case b.Runs < 1 || b.Reads < 1 || b.PostFor <= 0:
		return errors.New("--runs and --reads must be at least 1, --post-duration positive")
	}
	return nil
}

// noEnvironment is a getenv with no variable set.
func noEnvironment(string) string { return "" }
