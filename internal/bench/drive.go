package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Load describes the requests Drive sends.
type Load struct {
	// URL is the service's base URL.
	URL string
	// APIKey, when set, is sent as a bearer token.
	APIKey string
	// Rate is requests started per second (open loop); 0 runs Concurrency
	// clients back to back (closed loop).
	Rate float64
	// Concurrency is the closed-loop client count, and the cap on requests
	// in flight in an open loop.
	Concurrency int
	// Duration is how long requests are started.
	Duration time.Duration
	// KeyPrefix makes this run's Idempotency-Keys unique.
	KeyPrefix string
	// Next, when set, gives each request's Idempotency-Key and body in
	// turn, instead of KeyPrefix and one fixed body.
	Next func() (key string, body []byte)
}

// request returns the Idempotency-Key and body of the request after the
// n-th.
func (l Load) request(n int64) (string, []byte) {
	if l.Next != nil {
		return l.Next()
	}
	return fmt.Sprintf("%s-%d", l.KeyPrefix, n), body
}

// Result is what Drive saw.
type Result struct {
	Accepted int
	Failed   int
	// Skipped counts the requests an open loop did not start because
	// Concurrency requests were already in flight.
	Skipped   int
	Elapsed   time.Duration
	Latencies *Latencies
	// Created maps each accepted invoice ID to when its 201 arrived.
	Created map[string]time.Time
}

// AcceptedPerSec returns the accepted requests per second.
func (r Result) AcceptedPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Accepted) / r.Elapsed.Seconds()
}

// body is the invoice every request creates.
var body = []byte(`{"customer_id":"cust_bench","amount_cents":2500,"currency":"USD","metadata":{"run":"bench"}}`)

// NewClient returns an HTTP client that keeps up to conns connections to
// one host open between requests, so a load of conns requests at once
// reuses its connections instead of dialling for most requests, as
// http.DefaultClient (two idle connections per host) would.
func NewClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(conns, 100)
	t.MaxIdleConnsPerHost = max(conns, 2)
	return &http.Client{Transport: t}
}

// Drive sends POST /invoices with unique keys as load says until its
// duration is over or ctx ends, retrying a 409, a 503 or a broken
// connection with the same key, and returns what it saw.
func Drive(ctx context.Context, client *http.Client, load Load) Result {
	res := Result{Latencies: &Latencies{}, Created: map[string]time.Time{}}
	var mu sync.Mutex
	var seq atomic.Int64
	// one sends a request and times it from start: when it was due, so a
	// loop that falls behind shows in the latencies.
	one := func(start time.Time) {
		key, body := load.request(seq.Add(1))
		id, ok := post(ctx, client, load, key, body)
		mu.Lock()
		defer mu.Unlock()
		if !ok {
			res.Failed++
			return
		}
		res.Accepted++
		res.Latencies.Add(time.Since(start))
		res.Created[id] = time.Now()
	}
	start := time.Now()
	deadline := start.Add(load.Duration)
	if load.Rate > 0 {
		res.Skipped = openLoop(ctx, load, one)
	} else {
		closedLoop(ctx, load, deadline, one)
	}
	res.Elapsed = time.Since(start)
	return res
}

func closedLoop(ctx context.Context, load Load, deadline time.Time, one func(start time.Time)) {
	var wg sync.WaitGroup
	for range max(load.Concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				one(time.Now())
			}
		}()
	}
	wg.Wait()
}

func openLoop(ctx context.Context, load Load, one func(start time.Time)) (skipped int) {
	var wg sync.WaitGroup
	skipped = startPaced(ctx, load, &wg, one)
	wg.Wait()
	return skipped
}

// startPaced starts one request every 1/Rate seconds for Duration, each in
// its own goroutine counted in wg, skipping those due while Concurrency are
// in flight. It returns, with how many it skipped, once the last is due.
func startPaced(ctx context.Context, load Load, wg *sync.WaitGroup, one func(due time.Time)) (skipped int) {
	slots := make(chan struct{}, max(load.Concurrency, 1))
	interval := time.Duration(float64(time.Second) / load.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	deadline := start.Add(load.Duration)
	// Each request has its own due time, so a loop that falls behind (a
	// busy machine) starts the requests it owes at once instead of losing
	// them, as a ticker's dropped ticks would.
	for n := 0; ctx.Err() == nil; n++ {
		due := start.Add(time.Duration(n) * interval)
		if !due.Before(deadline) {
			return skipped
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C: // pacing the load
			case <-ctx.Done():
				return skipped
			}
		}
		select {
		case slots <- struct{}{}:
		default:
			skipped++ // every slot is taken: the service is behind
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			one(due)
		}()
	}
	return skipped
}

// post creates one invoice, retrying with the same key, and returns its ID.
func post(ctx context.Context, client *http.Client, load Load, key string, body []byte) (string, bool) {
	for attempt := 0; attempt < 5; attempt++ {
		status, id := postOnce(ctx, client, load, key, body)
		switch {
		case status == http.StatusCreated:
			return id, true
		case status == http.StatusConflict, status == http.StatusServiceUnavailable, status == 0:
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond) // the client's retry pacing
		default:
			return "", false
		}
	}
	return "", false
}

func postOnce(ctx context.Context, client *http.Client, load Load, key string, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, load.URL+"/invoices", bytes.NewReader(body))
	if err != nil {
		return -1, ""
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if load.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+load.APIKey)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	var inv struct {
		ID string `json:"id"`
	}
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusCreated && json.Unmarshal(data, &inv) != nil {
		return -1, ""
	}
	return res.StatusCode, inv.ID
}
