package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/progress"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
)

// Report is what invoiced bench measured, as --json prints it.
type Report struct {
	AcceptedPerSec      float64 `json:"accepted_per_sec"`
	FloorAcceptedPerSec float64 `json:"floor_accepted_per_sec"`
	AcceptedRatio       float64 `json:"accepted_ratio"`
	PostP50ms           float64 `json:"post_p50_ms"`
	PostP99ms           float64 `json:"post_p99_ms"`
	FloorPostP99ms      float64 `json:"floor_post_p99_ms"`
	E2EP50ms            float64 `json:"e2e_p50_ms"`
	E2EP99ms            float64 `json:"e2e_p99_ms"`
	// WebhookBefore201 counts invoices whose webhook arrived before their
	// 201 did; their end-to-end time counts as 0.
	WebhookBefore201 int     `json:"webhook_before_201"`
	DeliveredPerSec  float64 `json:"delivered_per_sec"`
	Accepted         int     `json:"accepted"`
	// Skipped counts the requests --rate did not start because
	// --concurrency requests were already in flight: the service was behind.
	Skipped int `json:"skipped"`
	// Failed counts requests that got no 201. Each request is one
	// attempt: none is retried.
	Failed     int `json:"failed"`
	Lost       int `json:"lost"`
	Duplicates int `json:"duplicates"`
	// Ordering is the receiver's subscription's, and OutOfOrder counts the
	// invoices whose outcome was sent before their invoice.created was
	// accepted: never one with per_invoice.
	Ordering   string `json:"ordering"`
	OutOfOrder int    `json:"out_of_order"`
	// Webhooks counts the webhooks the receiver verified and accepted,
	// each retry and each event of an invoice included.
	Webhooks   int     `json:"webhooks"`
	RSSMBStart float64 `json:"rss_mb_start"`
	RSSMBEnd   float64 `json:"rss_mb_end"`
	// CPUmsPerInvoice and WrittenKBPerInvoice are this process's CPU time
	// and disk writes from the first request until the last webhook
	// arrived, per invoice accepted: the embedded service's, the load's and
	// the receiver's together. They are 0 with --target, whose service
	// runs elsewhere.
	CPUmsPerInvoice     float64 `json:"cpu_ms_per_invoice"`
	WrittenKBPerInvoice float64 `json:"written_kb_per_invoice"`
	Fsync               string  `json:"fsync"`
	// TraceExports and TraceExportBytes are what the service exported
	// to the sink of --trace.
	TraceExports     int64 `json:"trace_exports,omitempty"`
	TraceExportBytes int64 `json:"trace_export_bytes,omitempty"`
}

// Measure measures the service at target as cfg says (a verifying receiver
// subscribed to it, then the load), and the floor under the same load
// unless cfg.NoFloor, keeping a live progress line on progressTo when it is
// a terminal. Each request is one attempt, never retried, so that a
// failure counts as one and no retry's wait is timed as the service's. It
// fails when the receiver, the subscription or the floor cannot be set up.
func Measure(ctx context.Context, cfg config.Bench, target string, progressTo io.Writer) (Report, error) {
	rep := Report{Fsync: cfg.Fsync, Ordering: cfg.Ordering, RSSMBStart: SelfRSSMB()}
	api, err := client.New(target, client.WithAPIKey(cfg.APIKey), client.WithUserAgent("invoiced-bench"))
	if err != nil {
		return rep, err
	}
	recv, err := webhookrecv.Start(webhookrecv.Config{})
	if err != nil {
		return rep, err
	}
	defer recv.Close()
	if err := subscribe(ctx, api, recv, benchSubscription(cfg)); err != nil {
		return rep, err
	}
	stopProfile, err := startProfile(cfg.PProf)
	if err != nil {
		return rep, err
	}
	load := loaddriver.Config{Bases: []string{target}, APIKey: cfg.APIKey, Rate: cfg.Rate, Concurrency: cfg.Concurrency,
		Duration: cfg.Duration, KeyPrefix: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36), Next: benchInvoice}
	started, used := time.Now(), selfUsage()
	line := progress.Start(progressTo, 250*time.Millisecond, func() string {
		return fmt.Sprintf("bench: service %s of %s, %d outcomes verified",
			time.Since(started).Round(100*time.Millisecond), cfg.Duration, recv.Counts().Outcomes)
	})
	stats, acks, err := loaddriver.Run(ctx, load)
	if err == nil {
		awaitArrivals(ctx, recv, stats.Acknowledged, cfg.Grace)
		if cfg.Target == "" {
			rep.CPUmsPerInvoice, rep.WrittenKBPerInvoice = used.perInvoice(stats.Acknowledged)
		}
	}
	line.Stop()
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return rep, err
	}
	fillService(&rep, stats, acks, recv, started)
	rep.RSSMBEnd = SelfRSSMB()
	if !cfg.NoFloor {
		floor, floorAcks, err := MeasureFloor(ctx, cfg, load)
		if err != nil {
			return rep, err
		}
		rep.FloorAcceptedPerSec, rep.FloorPostP99ms = floor.AcceptedPerSec(), latencies(floorAcks).Percentile(99)
		if rep.FloorAcceptedPerSec > 0 {
			rep.AcceptedRatio = rep.AcceptedPerSec / rep.FloorAcceptedPerSec
		}
	}
	return rep, nil
}

// benchInvoice is the invoice every request of invoiced bench creates.
func benchInvoice(int64) loaddriver.Invoice {
	return loaddriver.Invoice{Params: client.InvoiceParams{CustomerID: "cust_bench", AmountCents: 2500, Currency: "USD",
		Metadata: map[string]string{"run": "bench"}}, Want: client.InvoiceProcessed}
}

// benchSubscription returns the receiver's subscription, as cfg sets it.
func benchSubscription(cfg config.Bench) client.SubscriptionParams {
	params := client.SubscriptionParams{Ordering: client.Ordering(cfg.Ordering)}
	for _, t := range cfg.EventTypes {
		params.EventTypes = append(params.EventTypes, client.EventType(t))
	}
	return params
}

// subscribe subscribes recv to the service api calls, as params says but
// for the URL, and gives it the subscription's secret. It fails when the
// service refuses.
func subscribe(ctx context.Context, api *client.Client, recv *webhookrecv.Receiver, params client.SubscriptionParams) error {
	params.URL, params.Description = recv.URL(), "invoiced bench"
	sub, err := api.CreateSubscription(ctx, params)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", recv.URL(), err)
	}
	return recv.SetSecret(sub.Secret)
}

// latencies returns the latencies of acks.
func latencies(acks []loaddriver.Ack) *Latencies {
	l := &Latencies{}
	for _, a := range acks {
		l.Add(a.Latency)
	}
	return l
}

// fillService computes the service's figures from the load and the
// receiver: latencies, end-to-end times, losses and duplicates.
func fillService(rep *Report, stats loaddriver.Stats, acks []loaddriver.Ack, recv *webhookrecv.Receiver, started time.Time) {
	rep.Accepted, rep.AcceptedPerSec, rep.Skipped = stats.Acknowledged, stats.AcceptedPerSec(), stats.Skipped
	rep.Failed = stats.Failed()
	post := latencies(acks)
	rep.PostP50ms, rep.PostP99ms = post.Percentile(50), post.Percentile(99)
	e2e := &Latencies{}
	var last time.Time
	for _, a := range acks {
		at, ok := recv.OutcomeArrival(a.ID)
		if !ok {
			rep.Lost++
			continue
		}
		if at.Before(a.At) {
			rep.WebhookBefore201++
		}
		e2e.Add(max(at.Sub(a.At), 0))
		if at.After(last) {
			last = at
		}
	}
	rep.E2EP50ms, rep.E2EP99ms = e2e.Percentile(50), e2e.Percentile(99)
	counts := recv.Counts()
	rep.Duplicates = counts.Outcomes - (rep.Accepted - rep.Lost) // invoices that no 201 named
	rep.OutOfOrder, rep.Webhooks = len(recv.OutOfOrder()), counts.Invoices+counts.Repeats
	if d := last.Sub(started); d > 0 {
		rep.DeliveredPerSec = float64(e2e.Len()) / d.Seconds()
	}
}

// awaitArrivals waits until the outcomes' webhooks of accepted invoices
// arrived, or grace is over.
func awaitArrivals(ctx context.Context, recv *webhookrecv.Receiver, accepted int, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if recv.Counts().Outcomes >= accepted {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the receiver
	}
}

// startProfile starts a CPU profile in dir (none when dir is empty); the
// returned func stops it and writes a heap profile beside it. dir is
// created when missing.
func startProfile(dir string) (func() error, error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.prof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		cpu.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		cpu.Close()
		heap, err := os.Create(filepath.Join(dir, "heap.prof"))
		if err != nil {
			return err
		}
		defer heap.Close()
		return pprof.WriteHeapProfile(heap)
	}, nil
}

// Write prints r as lines of text for a person.
func (r Report) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, `fsync                  %s
accepted               %d   (failed %d; not started, the service behind: %d)
accepted/s             %.0f   (floor %.0f, ratio %.2f)
POST p50 / p99         %.2f / %.2f ms   (floor p99 %.2f ms)
end to end p50 / p99   %.2f / %.2f ms   (webhook before the 201: %d)
delivered/s            %.0f
lost / duplicates      %d / %d
webhooks accepted      %d   (ordering %s; outcome before its invoice.created: %d)
RSS start / end        %.0f / %.0f MB
CPU / disk writes      %.2f ms / %.1f KB per invoice (this process)
`, r.Fsync, r.Accepted, r.Failed, r.Skipped, r.AcceptedPerSec, r.FloorAcceptedPerSec, r.AcceptedRatio, r.PostP50ms, r.PostP99ms,
		r.FloorPostP99ms, r.E2EP50ms, r.E2EP99ms, r.WebhookBefore201, r.DeliveredPerSec, r.Lost, r.Duplicates, r.Webhooks, r.Ordering, r.OutOfOrder, r.RSSMBStart, r.RSSMBEnd,
		r.CPUmsPerInvoice, r.WrittenKBPerInvoice)
	if err == nil && r.TraceExports > 0 {
		_, err = fmt.Fprintf(w, "traces exported        %d requests, %.1f MB\n", r.TraceExports, float64(r.TraceExportBytes)/1e6)
	}
	return err
}
