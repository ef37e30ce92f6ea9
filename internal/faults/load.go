// Package faults proves invoiced's promises under faults. It drives POST
// /invoices with unique keys while recording every 201 (Load), runs a
// webhook receiver that verifies every signature and misbehaves on purpose
// (Receiver), starts real processes and NATS servers to kill (Proc,
// Cluster), and once the service is quiet checks what came of every
// acknowledged invoice (Check).
package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Ack is one acknowledged invoice.
type Ack struct {
	// Key is the Idempotency-Key it was created with.
	Key string
	// ID is the invoice ID its 201 named.
	ID string
	// Want is the status the invoice must reach: processed, or failed for an
	// amount above the service's limit.
	Want string
}

// LoadConfig tunes a Load.
type LoadConfig struct {
	// Bases are the API base URLs; clients take turns among them. Required.
	Bases []string
	// Clients is how many requests are in flight at once; 0 means 8.
	Clients int
	// KeyPrefix starts every Idempotency-Key; empty means a random one.
	KeyPrefix string
	// RetryFor is how long one request is retried (503, 409 and connection
	// errors, with the same key and body) before the client gives up; 0
	// means 2 minutes.
	RetryFor time.Duration
	// FailEvery makes every n-th invoice's amount exceed LimitCents, so it
	// must end failed; 0 means none.
	FailEvery int
	// LimitCents is the service's --max-amount-cents; 0 means its default,
	// 100,000,000.
	LimitCents int64
	// APIKey is sent as a bearer token when set.
	APIKey string
}

// LoadStats counts what a Load did.
type LoadStats struct {
	// Acknowledged is how many invoices got a 201.
	Acknowledged int
	// Retries is how many times a request was sent again.
	Retries int
	// GaveUp is how many requests were abandoned after RetryFor without a
	// 201.
	GaveUp int
	// Unexpected is how many answers were neither a 201 nor one worth
	// retrying (a 4xx other than 409, a 500): each is a failed request.
	Unexpected int
	// Statuses counts every HTTP status received; 0 counts transport errors.
	Statuses map[int]int
	// FirstUnexpected describes the first unexpected answer.
	FirstUnexpected string
}

// Load drives POST /invoices with unique keys until stopped.
type Load struct {
	cfg    LoadConfig
	client *http.Client
	stop   chan struct{}
	wg     sync.WaitGroup
	seq    atomic.Int64

	mu      sync.Mutex
	acks    []Ack
	stats   LoadStats
	lastAck time.Time
}

// StartLoad starts cfg.Clients clients, each posting one invoice after
// another until Stop. It fails when cfg names no base URL.
func StartLoad(cfg LoadConfig) (*Load, error) {
	if len(cfg.Bases) == 0 {
		return nil, errors.New("faults: load needs a base URL")
	}
	if cfg.Clients == 0 {
		cfg.Clients = 8
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = fmt.Sprintf("fault-%08x", rand.Uint32())
	}
	if cfg.RetryFor == 0 {
		cfg.RetryFor = 2 * time.Minute
	}
	if cfg.LimitCents == 0 {
		cfg.LimitCents = 100_000_000
	}
	l := &Load{
		cfg:    cfg,
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients}},
		stop:   make(chan struct{}),
		stats:  LoadStats{Statuses: map[int]int{}},
	}
	for range cfg.Clients {
		l.wg.Add(1)
		go l.run()
	}
	return l, nil
}

// Stop stops starting requests, waits for those in flight to end (each
// still retried for up to RetryFor) and returns what the load did.
func (l *Load) Stop() LoadStats {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	l.client.CloseIdleConnections()
	return l.Stats()
}

// Stats returns what the load has done so far.
func (l *Load) Stats() LoadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Statuses = make(map[int]int, len(l.stats.Statuses))
	for k, v := range l.stats.Statuses {
		s.Statuses[k] = v
	}
	return s
}

// Acks returns every invoice acknowledged so far.
func (l *Load) Acks() []Ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Ack(nil), l.acks...)
}

// AckedSince reports how many invoices have been acknowledged, and when the
// newest was.
func (l *Load) AckedSince() (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks), l.lastAck
}

func (l *Load) run() {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		n := l.seq.Add(1)
		base := l.cfg.Bases[int(n)%len(l.cfg.Bases)]
		l.create(base, n)
	}
}

// create posts invoice n until it is acknowledged, refused, or RetryFor has
// passed.
func (l *Load) create(base string, n int64) {
	key := l.cfg.KeyPrefix + "-" + strconv.FormatInt(n, 10)
	want, amount := "processed", 100+n%9_000
	if l.cfg.FailEvery > 0 && n%int64(l.cfg.FailEvery) == 0 {
		want, amount = "failed", l.cfg.LimitCents+n
	}
	body := fmt.Sprintf(`{"customer_id":"cust_%d","amount_cents":%d,"currency":"USD"}`, n%50, amount)
	deadline := time.Now().Add(l.cfg.RetryFor)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			l.count(func(s *LoadStats) { s.Retries++ })
		}
		status, id, wait, err := l.post(base, key, body)
		l.count(func(s *LoadStats) { s.Statuses[status]++ })
		switch {
		case status == http.StatusCreated && id != "":
			l.mu.Lock()
			l.acks = append(l.acks, Ack{Key: key, ID: id, Want: want})
			l.stats.Acknowledged++
			l.lastAck = time.Now()
			l.mu.Unlock()
			return
		case err == nil && !retryable(status):
			l.count(func(s *LoadStats) {
				s.Unexpected++
				if s.FirstUnexpected == "" {
					s.FirstUnexpected = fmt.Sprintf("%s: %d", key, status)
				}
			})
			return
		case time.Now().After(deadline):
			l.count(func(s *LoadStats) { s.GaveUp++ })
			return
		}
		time.Sleep(wait)
	}
}

// retryable reports whether a client should send the same request again.
func retryable(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusConflict ||
		status == http.StatusTooManyRequests
}

// post sends one request and returns its status (0 when none came), the
// invoice ID of a 201, and how long to wait before a retry.
func (l *Load) post(base, key, body string) (status int, id string, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/invoices", strings.NewReader(body))
	if err != nil {
		return 0, "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if l.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+l.cfg.APIKey)
	}
	res, err := l.client.Do(req)
	if err != nil {
		return 0, "", 100 * time.Millisecond, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, "", 100 * time.Millisecond, err
	}
	wait = 100 * time.Millisecond
	if secs, perr := strconv.Atoi(res.Header.Get("Retry-After")); perr == nil && secs > 0 {
		wait = min(time.Duration(secs)*time.Second, time.Second)
	}
	if res.StatusCode == http.StatusCreated {
		id = invoiceID(res.Header.Get("Location"))
	}
	return res.StatusCode, id, wait, nil
}

// invoiceID takes the ID from a 201's Location header.
func invoiceID(location string) string {
	i := strings.LastIndexByte(location, '/')
	if i < 0 {
		return ""
	}
	return location[i+1:]
}

func (l *Load) count(f func(*LoadStats)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}
