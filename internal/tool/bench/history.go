package bench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HistoryConfig is a history benchmark: how memory, restart time, reads
// and writes of one service change as its history grows.
type HistoryConfig struct {
	// Bin is the invoiced binary to run.
	Bin string
	// Data is the service's data directory; it keeps growing from size to
	// size.
	Data string
	// Reference is the data directory of the reference: a second service,
	// nearly empty, measured in the same way right after each run, so that
	// each figure has one taken under the same conditions to compare with.
	Reference string
	// Sizes are the history sizes measured at, in invoices, ascending.
	Sizes []int
	// Runs is how many times each size is measured: kill -9, restart and
	// measure.
	Runs int
	// Fsync is the services' --fsync.
	Fsync string
	// Reads is how many of each read a run times.
	Reads int
	// PostFor is how long a run creates invoices through the API, 32 at a
	// time, to time them.
	PostFor time.Duration
	// Log receives progress; nil discards it.
	Log io.Writer
}

// HistoryRun is one measurement of a service holding Invoices invoices.
type HistoryRun struct {
	// Size is the history size measured at, 0 for the nearly empty
	// service; Invoices how many it held, with what the runs before added.
	Size     int `json:"size"`
	Invoices int `json:"invoices"`
	Figures
	// StreamsMB and ReadModelMB are the disk the JetStream store and the
	// read model take.
	StreamsMB   float64 `json:"streams_mb"`
	ReadModelMB float64 `json:"read_model_mb"`
	// Reference is the reference measured right after, and Ratio each
	// figure divided by the reference's.
	Reference Figures `json:"reference"`
	Ratio     Figures `json:"ratio"`
}

// Figures are what one run measures of a service.
type Figures struct {
	// RestartS is the time from starting the killed service to /readyz 200.
	RestartS float64 `json:"restart_s"`
	// RSSMB is its resident memory 10 s after it was ready.
	RSSMB float64 `json:"rss_mb"`
	Reads
	// PostPerSec is POST /invoices accepted per second, 32 clients.
	PostPerSec float64 `json:"post_per_sec"`
}

// over returns each of f's figures divided by ref's.
func (f Figures) over(ref Figures) Figures {
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	return Figures{RestartS: div(f.RestartS, ref.RestartS), RSSMB: div(f.RSSMB, ref.RSSMB),
		Reads: Reads{Invoice: div(f.Invoice, ref.Invoice), Customer: div(f.Customer, ref.Customer),
			Failing: div(f.Failing, ref.Failing), Requested: f.Requested},
		PostPerSec: div(f.PostPerSec, ref.PostPerSec)}
}

// historyWindow bounds the invoices seeded and not yet delivered.
const historyWindow = 20_000

// RunHistory runs the benchmark: a service on cfg.Data with two
// subscriptions (one receiver verifying every invoice's webhook, one
// endpoint that always fails, for the failed invoices), measured once
// nearly empty and then at every size, each size seeded by publishing the
// API's own InvoiceRequested events and grown further through the API by
// each run's writes; after each run, the reference on cfg.Reference, set up
// alike but grown by its runs' writes only. It returns every run. It fails
// when a service or its receivers cannot be run.
func RunHistory(ctx context.Context, cfg HistoryConfig) ([]HistoryRun, error) {
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "bench history: "+format+"\n", args...)
		}
	}
	b := &historyBench{cfg: cfg, logf: logf}
	var err error
	if b.main, err = startService(ctx, cfg, cfg.Data); err != nil {
		return nil, err
	}
	defer b.main.close()
	if b.ref, err = startService(ctx, cfg, cfg.Reference); err != nil {
		return nil, err
	}
	defer b.ref.close()
	return b.run(ctx)
}

// service is one invoiced process the benchmark measures, its receivers,
// and the invoices made on it.
type service struct {
	cfg     HistoryConfig
	p       *Process
	api     *client.Client // without retries: each read is timed alone
	recv    *webhookrecv.Receiver
	failing *webhookrecv.Receiver
	h       History
	total   int // invoices made so far, numbered from 0
}

// startService starts invoiced on data, subscribes its receivers and
// returns it. It fails when the process or a receiver cannot be started.
func startService(ctx context.Context, cfg HistoryConfig, data string) (*service, error) {
	p, err := NewProcess(cfg.Bin, data, cfg.Fsync)
	if err != nil {
		return nil, err
	}
	if _, err := p.Start(ctx); err != nil {
		return nil, err
	}
	s := &service{cfg: cfg, p: p, h: History{Prefix: "history", Caller: api.DefaultCaller, Customers: 1000, FailEvery: 1000}}
	if err := s.receivers(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// receivers starts the receiver of every invoice's webhook and one that
// fails every delivery, and subscribes them to the service (the second to
// failed invoices only, whose deliveries then keep failing).
func (s *service) receivers(ctx context.Context) error {
	var err error
	if s.api, err = client.New(s.p.Base, client.WithRetry(1, 0), client.WithUserAgent("invoiced-bench")); err != nil {
		return err
	}
	if s.recv, err = webhookrecv.Start(webhookrecv.Config{}); err != nil {
		return err
	}
	if err := subscribe(ctx, s.api, s.recv, client.SubscriptionParams{EventTypes: []client.EventType{client.EventInvoiceProcessed, client.EventInvoiceFailed}}); err != nil {
		return err
	}
	if s.failing, err = webhookrecv.Start(webhookrecv.Config{FailRate: 1}); err != nil {
		return err
	}
	return subscribe(ctx, s.api, s.failing, client.SubscriptionParams{EventTypes: []client.EventType{client.EventInvoiceFailed}})
}

// close stops the process and its receivers.
func (s *service) close() {
	_ = s.p.Stop()
	for _, r := range []*webhookrecv.Receiver{s.recv, s.failing} {
		if r != nil {
			_ = r.Close()
		}
	}
}

type historyBench struct {
	cfg       HistoryConfig
	main, ref *service
	runs      []HistoryRun
	logf      func(string, ...any)
}

func (b *historyBench) run(ctx context.Context) ([]HistoryRun, error) {
	for _, s := range []*service{b.main, b.ref} { // empty services, but for this
		if _, err := s.post(ctx); err != nil {
			return nil, err
		}
	}
	seeded := b.main.total
	for _, size := range append([]int{0}, b.cfg.Sizes...) {
		if size > b.main.total {
			if err := b.seed(ctx, size); err != nil {
				return nil, err
			}
		}
		for range b.cfg.Runs {
			if err := b.measure(ctx, size, max(size, seeded)); err != nil {
				return b.runs, err
			}
		}
	}
	return b.runs, nil
}

// post creates invoices through the API for PostFor, waits until the
// service is quiet again and returns how many a second were accepted.
func (s *service) post(ctx context.Context) (float64, error) {
	stats, _, err := loaddriver.Run(ctx, loaddriver.Config{Bases: []string{s.p.Base}, Concurrency: 32, Duration: s.cfg.PostFor,
		Next: s.h.Invoices(s.total)})
	if err != nil {
		return 0, err
	}
	if n := stats.Failed(); n > 0 {
		return 0, fmt.Errorf("%d of %d invoices made through the API were refused", n, n+stats.Acknowledged)
	}
	s.total += stats.Acknowledged
	return stats.AcceptedPerSec(), s.quiet(ctx)
}

// seed grows the history to size by publishing, then waits until it is
// quiet.
func (b *historyBench) seed(ctx context.Context, size int) error {
	s := b.main
	b.logf("seeding %d invoices", size-s.total)
	nc, err := nats.Connect(s.p.NATSURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4000))
	if err != nil {
		return err
	}
	started := time.Now()
	err = s.h.Seed(ctx, js, s.total, size, historyWindow, func() int { return s.recv.Counts().Invoices })
	if err != nil {
		return err
	}
	b.logf("seeded to %d in %s", size, time.Since(started).Round(time.Second))
	s.total = size
	return s.quiet(ctx)
}

// quiet waits until every invoice made has its webhook, and 30 seconds more.
func (s *service) quiet(ctx context.Context) error {
	for {
		if c := s.recv.Counts(); c.Refused > 0 {
			return fmt.Errorf("%d webhooks did not verify", c.Refused)
		} else if c.Invoices >= s.total {
			return sleepCtx(ctx, 30*time.Second)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// measure measures the service at size, its reads among its first
// readable invoices, and then the reference.
func (b *historyBench) measure(ctx context.Context, size, readable int) error {
	run := HistoryRun{Size: size, Invoices: b.main.total}
	var err error
	if run.Figures, err = b.main.measure(ctx, readable); err != nil {
		return err
	}
	run.StreamsMB, run.ReadModelMB = diskMB(filepath.Join(b.cfg.Data, "jetstream")), diskMB(filepath.Join(b.cfg.Data, "readmodel.db"))
	if run.Reference, err = b.ref.measure(ctx, b.ref.total); err != nil {
		return err
	}
	run.Ratio = run.Figures.over(run.Reference)
	b.logf("%d invoices: restart %.2fs, RSS %.0f MB, p99 get %.2f / by customer %.2f / failing %.2f ms, %.0f POST/s (%.2f of the reference's %.0f)",
		run.Invoices, run.RestartS, run.RSSMB, run.Invoice, run.Customer, run.Failing, run.PostPerSec, run.Ratio.PostPerSec, run.Reference.PostPerSec)
	b.runs = append(b.runs, run)
	return nil
}

// measure kills the service, restarts it and measures it, its reads among
// its first readable invoices.
func (s *service) measure(ctx context.Context, readable int) (Figures, error) {
	if err := s.p.Kill(); err != nil {
		return Figures{}, err
	}
	took, err := s.p.Start(ctx)
	if err != nil {
		return Figures{}, err
	}
	f := Figures{RestartS: took.Seconds()}
	if err := sleepCtx(ctx, 10*time.Second); err != nil {
		return f, err
	}
	if f.RSSMB, err = s.p.RSSMB(); err != nil {
		return f, err
	}
	if f.Reads, err = MeasureReads(ctx, s.api, s.h, readable, s.cfg.Reads); err != nil {
		return f, err
	}
	f.PostPerSec, err = s.post(ctx)
	return f, err
}

// diskMB returns the bytes, in MB, of path: a file and the files beside it
// that share its name (SQLite's journal), or a directory's files.
func diskMB(path string) float64 {
	var total int64
	matches, _ := filepath.Glob(path + "*")
	for _, m := range matches {
		_ = filepath.WalkDir(m, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if info, err := d.Info(); err == nil {
					total += info.Size()
				}
			}
			return nil
		})
	}
	return float64(total) / (1 << 20)
}

// MedianRuns returns, per size, the median of each figure of its runs, the
// reference's and the ratios included, in the order measured.
func MedianRuns(runs []HistoryRun) []HistoryRun {
	var figures []func(*HistoryRun) *float64
	for _, of := range []func(*HistoryRun) *Figures{
		func(r *HistoryRun) *Figures { return &r.Figures },
		func(r *HistoryRun) *Figures { return &r.Reference },
		func(r *HistoryRun) *Figures { return &r.Ratio },
	} {
		figures = append(figures,
			func(r *HistoryRun) *float64 { return &of(r).RestartS },
			func(r *HistoryRun) *float64 { return &of(r).RSSMB },
			func(r *HistoryRun) *float64 { return &of(r).Invoice },
			func(r *HistoryRun) *float64 { return &of(r).Customer },
			func(r *HistoryRun) *float64 { return &of(r).Failing },
			func(r *HistoryRun) *float64 { return &of(r).PostPerSec },
		)
	}
	var out []HistoryRun
	for i := 0; i < len(runs); {
		j := i
		for j < len(runs) && runs[j].Size == runs[i].Size {
			j++
		}
		group := slices.Clone(runs[i:j])
		m := group[len(group)/2]
		for _, figure := range figures {
			v := make([]float64, len(group))
			for k := range group {
				v[k] = *figure(&group[k])
			}
			slices.Sort(v)
			*figure(&m) = v[len(v)/2]
		}
		out = append(out, m)
		i = j
	}
	return out
}
