package loaddriver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
)

func TestPacedLoadStartsEveryRequestItOwes(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		started     int64
		skipped     int
	}{
		{name: "keeps up", concurrency: 100, started: 50},
		{name: "behind", concurrency: 5, started: 5, skipped: 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Requests hold their slot until the pacing is over, so only
			// Concurrency of the 50 that are due can start.
			release := make(chan struct{})
			var started atomic.Int64
			one := func(time.Time) {
				started.Add(1)
				<-release
			}
			now := time.Now()
			p := pace{rate: 1000, slots: tt.concurrency, start: now, deadline: now.Add(50 * time.Millisecond)}
			var wg sync.WaitGroup
			skipped := startPaced(context.Background(), make(chan struct{}), p, &wg, one)
			close(release)
			wg.Wait()
			if got := started.Load(); got != tt.started || skipped != tt.skipped {
				t.Fatalf("started %d, skipped %d; want %d and %d", got, skipped, tt.started, tt.skipped)
			}
		})
	}
}

// api is a stand-in for POST /invoices over real HTTP: it answers each
// key's first failFirst requests with status fail, then 201, and records
// every key it was sent.
type api struct {
	srv       *httptest.Server
	fail      int
	failFirst int

	mu   sync.Mutex
	keys map[string]int
}

func newAPI(t *testing.T, fail, failFirst int) *api {
	a := &api{fail: fail, failFirst: failFirst, keys: map[string]int{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		key := r.Header.Get("Idempotency-Key")
		a.mu.Lock()
		a.keys[key]++
		n := a.keys[key]
		a.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/invoices" || key == "" {
			http.Error(w, "not POST /invoices with a key", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if n <= a.failFirst {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(a.fail)
			_, _ = io.WriteString(w, `{"type":"urn:invoiced:problem:unavailable","title":"Service unavailable"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"inv-`+key+`","status":"created"}`)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// sent returns how many requests carried each key.
func (a *api) sent() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for k, v := range a.keys {
		out[k] = v
	}
	return out
}

func fixed(n int64) Invoice {
	return Invoice{Params: client.InvoiceParams{CustomerID: "cust_1", AmountCents: 100 + n}, Want: client.InvoiceProcessed}
}

// TestRetriesKeepTheKeyAndShow fails every key's first attempt with a 503:
// with retries, every invoice is acknowledged on its second attempt under
// the same key and every attempt is counted; with retries off, every
// request is a failure.
func TestRetriesKeepTheKeyAndShow(t *testing.T) {
	a := newAPI(t, http.StatusServiceUnavailable, 1)
	stats, acks, err := Run(context.Background(), Config{Bases: []string{a.srv.URL}, Next: fixed, Concurrency: 2,
		Duration: 300 * time.Millisecond, RetryFor: 10 * time.Second, KeyPrefix: "k"})
	if err != nil {
		t.Fatal(err)
	}
	sent := a.sent()
	if len(acks) == 0 || stats.Acknowledged != len(acks) || stats.Failed() != 0 || stats.Retries != len(acks) ||
		stats.Statuses[503] != len(acks) || stats.Statuses[201] != len(acks) || len(sent) != len(acks) {
		t.Fatalf("stats %+v, %d acks, %d keys sent", stats, len(acks), len(sent))
	}
	for _, ack := range acks {
		if sent[ack.Key] != 2 || ack.ID != "inv-"+ack.Key || ack.Want != client.InvoiceProcessed || !strings.HasPrefix(ack.Key, "k-") ||
			ack.Latency <= 0 || ack.At.IsZero() {
			t.Fatalf("ack %+v: its key was sent %d times", ack, sent[ack.Key])
		}
	}

	b := newAPI(t, http.StatusServiceUnavailable, 1)
	stats, acks, err = Run(context.Background(), Config{Bases: []string{b.srv.URL}, Next: fixed, Concurrency: 2, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(acks) != 0 || stats.GaveUp == 0 || stats.GaveUp != len(b.sent()) || stats.Retries != 0 || stats.Statuses[503] != stats.GaveUp {
		t.Fatalf("retries off: stats %+v, %d acks, %d keys sent", stats, len(acks), len(b.sent()))
	}
}

// TestUnexpectedAnswersAreNotRetried answers 400: each request fails once,
// and the first is described.
func TestUnexpectedAnswersAreNotRetried(t *testing.T) {
	a := newAPI(t, http.StatusBadRequest, 1<<30)
	stats, _, err := Run(context.Background(), Config{Bases: []string{a.srv.URL}, Next: fixed, Concurrency: 1,
		Duration: 100 * time.Millisecond, RetryFor: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Unexpected == 0 || stats.Retries != 0 || stats.GaveUp != 0 || !strings.Contains(stats.FirstUnexpected, "400") {
		t.Fatalf("stats %+v", stats)
	}
}

// TestOpenLoopTakesTurnsAmongBases paces 40 requests over two services:
// each is started, in turn, with its own key, until Stop.
func TestOpenLoopTakesTurnsAmongBases(t *testing.T) {
	a, b := newAPI(t, 0, 0), newAPI(t, 0, 0)
	l, err := Start(context.Background(), Config{Bases: []string{a.srv.URL, b.srv.URL}, Next: fixed, Rate: 200,
		Concurrency: 100, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stats := l.Wait()
	acked, last := l.Acked()
	if stats.Acknowledged+stats.Skipped+stats.Failed() != 40 || acked != stats.Acknowledged || last.IsZero() || stats.Elapsed < 195*time.Millisecond {
		t.Fatalf("stats %+v, acked %d", stats, acked)
	}
	if len(a.sent())+len(b.sent()) != stats.Acknowledged || len(a.sent()) == 0 || len(b.sent()) == 0 {
		t.Fatalf("sent %d and %d", len(a.sent()), len(b.sent()))
	}
	if again := l.Stop(); again.Acknowledged != stats.Acknowledged {
		t.Fatalf("Stop after the end changed the stats: %+v", again)
	}
}

// TestStopEndsAnEndlessLoad starts a load without a duration and stops it.
func TestStopEndsAnEndlessLoad(t *testing.T) {
	a := newAPI(t, 0, 0)
	l, err := Start(context.Background(), Config{Bases: []string{a.srv.URL}, Next: fixed, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := l.Acked(); n < 10; n, _ = l.Acked() {
		if time.Now().After(deadline) {
			t.Fatal("nothing acknowledged in 10s")
		}
		time.Sleep(5 * time.Millisecond) // polling the load
	}
	stats := l.Stop()
	if stats.Acknowledged < 10 || len(l.Acks()) != stats.Acknowledged || len(a.sent()) != stats.Acknowledged {
		t.Fatalf("stats %+v, %d acks, %d sent", stats, len(l.Acks()), len(a.sent()))
	}
}

func TestConfigValidate(t *testing.T) {
	for _, bad := range []Config{
		{Next: fixed},
		{Bases: []string{"http://127.0.0.1:1"}},
		{Bases: []string{"http://127.0.0.1:1"}, Next: fixed, Rate: -1},
		{Bases: []string{"http://127.0.0.1:1"}, Next: fixed, Concurrency: -1},
		{Bases: []string{"127.0.0.1:1"}, Next: fixed},
	} {
		if _, err := Start(context.Background(), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
