// Package loaddriver creates invoices through the API, in an open loop
// (requests started at a rate, each timed from when it was due) or a
// closed one (a number of callers back to back), with a unique
// Idempotency-Key per invoice that the client keeps across its retries,
// and records every invoice acknowledged. invoiced bench and the fault
// scenarios drive their load with it.
package loaddriver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/client"
)

// Invoice is one invoice a Load creates.
type Invoice struct {
	// Key is its Idempotency-Key; empty means the Load's KeyPrefix, "-"
	// and the request's number.
	Key string
	// Params is what is sent.
	Params client.InvoiceParams
	// Want is the status it must reach, carried into its Ack.
	Want client.InvoiceStatus
}

// Config describes a Load.
type Config struct {
	// Bases are the API base URLs; requests take turns among them.
	// Required.
	Bases []string
	// APIKey, when set, is sent as a bearer token.
	APIKey string
	// Next returns request n's invoice, n counting from 1. Required.
	Next func(n int64) Invoice
	// Rate is requests started per second (an open loop); 0 runs
	// Concurrency callers back to back (a closed loop).
	Rate float64
	// Concurrency is the closed loop's caller count, and the cap on
	// requests in flight in an open one; 0 means 8.
	Concurrency int
	// Duration is how long requests are started; 0 means until Stop, or
	// until the context ends.
	Duration time.Duration
	// KeyPrefix starts the keys Next leaves to the Load; empty means a
	// random one.
	KeyPrefix string
	// RetryFor is how long the client retries one request, with its key,
	// where retrying is safe (a 409 in flight, 429, 502, 503, 504, no
	// answer); 0 turns retries off, so that every failed attempt counts as
	// a failed request.
	RetryFor time.Duration
	// AttemptTimeout bounds one attempt; 0 means 20s.
	AttemptTimeout time.Duration
}

// Validate reports the first missing or invalid field.
func (c Config) Validate() error {
	switch {
	case len(c.Bases) == 0:
		return errors.New("loaddriver: no base URL")
	case c.Next == nil:
		return errors.New("loaddriver: no Next")
	case c.Rate < 0 || math.IsInf(c.Rate, 0) || math.IsNaN(c.Rate):
		return fmt.Errorf("loaddriver: rate %g", c.Rate)
	case c.Concurrency < 0 || c.Duration < 0 || c.RetryFor < 0 || c.AttemptTimeout < 0:
		return errors.New("loaddriver: negative concurrency or duration")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = fmt.Sprintf("load-%08x", rand.Uint32())
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = 20 * time.Second
	}
	return c
}

// Ack is one acknowledged invoice.
type Ack struct {
	// Key is the Idempotency-Key it was created with.
	Key string
	// ID is the invoice ID the answer named.
	ID string
	// Want is the status it must reach, as Next gave it.
	Want client.InvoiceStatus
	// Latency is the time from when the request was due (open loop) or
	// started (closed loop) to its answer, retries included.
	Latency time.Duration
	// At is when the answer arrived.
	At time.Time
}

// Stats count what a Load did.
type Stats struct {
	// Acknowledged is how many invoices were created.
	Acknowledged int
	// GaveUp is how many requests ended on an answer that asks for a retry
	// (409, 429, 502, 503, 504) or on none: with retries off, at the first
	// such attempt; else once RetryFor is spent.
	GaveUp int
	// Unexpected is how many requests ended on any other failure (a 4xx,
	// a 500).
	Unexpected int
	// FirstUnexpected describes the first of those.
	FirstUnexpected string
	// Skipped is how many requests an open loop did not start because
	// Concurrency requests were in flight: the service was behind.
	Skipped int
	// Retries is how many attempts the client made beyond each request's
	// first; always 0 with retries off.
	Retries int
	// Statuses counts every attempt's HTTP status; 0 counts attempts that
	// got no answer.
	Statuses map[int]int
	// Elapsed is the time from Start until the last request ended; set
	// once the Load is done.
	Elapsed time.Duration
}

// Failed returns how many requests ended without an invoice.
func (s Stats) Failed() int { return s.GaveUp + s.Unexpected }

// AcceptedPerSec returns the invoices created per second of Elapsed.
func (s Stats) AcceptedPerSec() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Acknowledged) / s.Elapsed.Seconds()
}

// Load is invoice creation under way. Its methods are safe for concurrent
// use.
type Load struct {
	cfg       Config
	clients   []*client.Client
	transport *http.Transport
	stop      chan struct{}
	stopOnce  sync.Once
	done      chan struct{} // closed once every request has ended
	began     time.Time
	seq       atomic.Int64

	mu      sync.Mutex
	acks    []Ack
	stats   Stats
	lastAck time.Time
}

// Start starts the load: its requests run under ctx, which also ends it.
// It fails when cfg is invalid or a base URL is not one.
func Start(ctx context.Context, cfg Config) (*Load, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	l := &Load{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{}), stats: Stats{Statuses: map[int]int{}}}
	if err := l.dial(); err != nil {
		return nil, err
	}
	l.began = time.Now()
	go l.run(ctx)
	return l, nil
}

// Run drives the load to its end (cfg.Duration, or ctx) and returns what
// it did and every invoice acknowledged. It fails as Start does.
func Run(ctx context.Context, cfg Config) (Stats, []Ack, error) {
	l, err := Start(ctx, cfg)
	if err != nil {
		return Stats{}, nil, err
	}
	stats := l.Wait()
	return stats, l.Acks(), nil
}

// dial makes one client per base URL, sharing a transport that keeps a
// connection per caller open and counts every attempt's status.
func (l *Load) dial() error {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(l.cfg.Concurrency, 100)
	t.MaxIdleConnsPerHost = max(l.cfg.Concurrency, 2)
	l.transport = t
	hc := &http.Client{Timeout: l.cfg.AttemptTimeout, Transport: countingTransport{next: t, count: l.countStatus}}
	opts := []client.Option{client.WithHTTPClient(hc), client.WithAPIKey(l.cfg.APIKey), client.WithUserAgent("invoiced-load")}
	if l.cfg.RetryFor > 0 {
		opts = append(opts, client.WithRetry(math.MaxInt, l.cfg.RetryFor), client.WithBackoff(100*time.Millisecond, time.Second))
	} else {
		opts = append(opts, client.WithRetry(1, 0))
	}
	for _, base := range l.cfg.Bases {
		c, err := client.New(base, opts...)
		if err != nil {
			return fmt.Errorf("loaddriver: %w", err)
		}
		l.clients = append(l.clients, c)
	}
	return nil
}

// Stop stops starting requests, waits for those in flight to end (each
// still retried for up to RetryFor) and returns what the load did.
func (l *Load) Stop() Stats {
	l.stopOnce.Do(func() { close(l.stop) })
	return l.Wait()
}

// Wait waits until the load is over (its Duration, Stop, or its context)
// and every request has ended, and returns what it did.
func (l *Load) Wait() Stats {
	<-l.done
	return l.Stats()
}

// Stats returns what the load has done so far.
func (l *Load) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Statuses = make(map[int]int, len(l.stats.Statuses))
	for k, v := range l.stats.Statuses {
		s.Statuses[k] = v
	}
	return s
}

// Acks returns every invoice acknowledged so far, in the order the answers
// came.
func (l *Load) Acks() []Ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Ack(nil), l.acks...)
}

// Acked returns how many invoices have been acknowledged, and when the
// newest was.
func (l *Load) Acked() (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks), l.lastAck
}

// run runs the loop cfg asks for, then marks the load done.
func (l *Load) run(ctx context.Context) {
	defer close(l.done)
	defer l.transport.CloseIdleConnections()
	var deadline time.Time
	if l.cfg.Duration > 0 {
		deadline = l.began.Add(l.cfg.Duration)
	}
	one := func(due time.Time) { l.create(ctx, due) }
	var wg sync.WaitGroup
	if l.cfg.Rate > 0 {
		skipped := startPaced(ctx, l.stop, pace{rate: l.cfg.Rate, slots: l.cfg.Concurrency, start: l.began, deadline: deadline}, &wg, one)
		l.mu.Lock()
		l.stats.Skipped = skipped
		l.mu.Unlock()
	} else {
		for range l.cfg.Concurrency {
			wg.Go(func() {
				for running(ctx, l.stop, deadline) {
					one(time.Now())
				}
			})
		}
	}
	wg.Wait()
	l.mu.Lock()
	l.stats.Elapsed = time.Since(l.began)
	l.mu.Unlock()
}

// running reports whether requests may still start: ctx has not ended,
// stop is not closed and the deadline (none when zero) has not passed.
func running(ctx context.Context, stop <-chan struct{}, deadline time.Time) bool {
	select {
	case <-stop:
		return false
	default:
	}
	return ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline))
}

// create makes request n's invoice, due at due, and records what came of
// it.
func (l *Load) create(ctx context.Context, due time.Time) {
	n := l.seq.Add(1)
	inv := l.cfg.Next(n)
	if inv.Key == "" {
		inv.Key = l.cfg.KeyPrefix + "-" + strconv.FormatInt(n, 10)
	}
	var info client.ResponseInfo
	created, err := l.clients[int(n%int64(len(l.clients)))].CreateInvoice(ctx, inv.Params,
		client.WithIdempotencyKey(inv.Key), client.WithResponseInfo(&info))
	at := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Retries += max(info.Attempts-1, 0)
	switch {
	case err == nil:
		l.acks = append(l.acks, Ack{Key: inv.Key, ID: created.ID, Want: inv.Want, Latency: at.Sub(due), At: at})
		l.stats.Acknowledged++
		l.lastAck = at
	case retried(err):
		l.stats.GaveUp++
	default:
		l.stats.Unexpected++
		if l.stats.FirstUnexpected == "" {
			l.stats.FirstUnexpected = inv.Key + ": " + err.Error()
		}
	}
}

// retried reports whether err is an answer that asks for a retry, or no
// answer at all.
func retried(err error) bool {
	var e *client.Error
	if !errors.As(err, &e) {
		return true
	}
	switch e.Status {
	case http.StatusConflict, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (l *Load) countStatus(status int) {
	l.mu.Lock()
	l.stats.Statuses[status]++
	l.mu.Unlock()
}

// countingTransport passes each attempt on to next and counts its status,
// 0 when it got no answer.
type countingTransport struct {
	next  http.RoundTripper
	count func(status int)
}

// RoundTrip sends r with next and counts what came of it.
func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if err != nil {
		t.count(0)
		return nil, err
	}
	t.count(res.StatusCode)
	return res, nil
}
