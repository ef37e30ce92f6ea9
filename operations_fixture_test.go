package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

type opsAPI struct {
	base, key string
}

func (a opsAPI) do(tb testing.TB, method, path, body string, header ...string) (int, http.Header, []byte) {
	tb.Helper()
	return request(tb, method, a.base+path, body, append([]string{"Authorization", "Bearer " + a.key}, header...)...)
}

// opsInvoice is an invoice created with an Idempotency-Key, and what the
// service answered for it.
type opsInvoice struct {
	key, body string
	id        string
	status    string // once settled
	got       []byte // GET /invoices/{id} once settled
}

// create creates an invoice of amount cents with key.
func (a opsAPI) create(tb testing.TB, key string, amount int) opsInvoice {
	tb.Helper()
	inv := opsInvoice{key: key, body: fmt.Sprintf(`{"customer_id":"cust_ops","amount_cents":%d,"currency":"USD"}`, amount)}
	status, _, body := a.do(tb, http.MethodPost, "/invoices", inv.body, "Idempotency-Key", key)
	if status != http.StatusCreated {
		tb.Fatalf("create %s: %d %s", key, status, body)
	}
	inv.id = jsonField(tb, body, "id")
	return inv
}

// settle waits until inv has an outcome and records its answer.
func (a opsAPI) settle(tb testing.TB, inv *opsInvoice) {
	tb.Helper()
	waitFor(tb, 30*time.Second, "invoice "+inv.key+" settled", func() (bool, string) {
		status, _, body := a.do(tb, http.MethodGet, "/invoices/"+inv.id, "")
		var got struct{ Status string }
		if status != http.StatusOK || json.Unmarshal(body, &got) != nil {
			return false, fmt.Sprintf("%d %s", status, body)
		}
		inv.status, inv.got = got.Status, body
		return got.Status == "processed" || got.Status == "failed", string(body)
	})
}

// deliveries returns the IDs of every delivery that matches query.
func (a opsAPI) deliveries(tb testing.TB, query string) []string {
	tb.Helper()
	var ids []string
	for cursor := ""; ; {
		q := query + "&limit=100"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		status, _, body := a.do(tb, http.MethodGet, "/webhooks/deliveries?"+q, "")
		var page struct {
			Data       []struct{ ID string } `json:"data"`
			NextCursor string                `json:"next_cursor"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
			tb.Fatalf("deliveries %s: %d %s", q, status, body)
		}
		for _, d := range page.Data {
			ids = append(ids, d.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			return ids
		}
	}
}

// invoiceIDs returns the ID of every invoice GET /invoices lists.
func (a opsAPI) invoiceIDs(tb testing.TB) []string {
	tb.Helper()
	var ids []string
	for cursor := ""; ; {
		q := "limit=100"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		status, _, body := a.do(tb, http.MethodGet, "/invoices?"+q, "")
		var page struct {
			Data       []struct{ ID string } `json:"data"`
			NextCursor string                `json:"next_cursor"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
			tb.Fatalf("invoices %s: %d %s", q, status, body)
		}
		for _, inv := range page.Data {
			ids = append(ids, inv.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			return ids
		}
	}
}

// awaitReady waits until /readyz answers 200.
func (a opsAPI) awaitReady(tb testing.TB) {
	tb.Helper()
	waitFor(tb, 60*time.Second, "/readyz 200", func() (bool, string) {
		status, _, body := a.do(tb, http.MethodGet, "/readyz", "")
		return status == http.StatusOK, fmt.Sprintf("%d %s", status, body)
	})
}

// opsReceiver is a webhook endpoint that verifies every request with its
// subscription's secret, as a receiver does, and records the event types
// it accepted per invoice.
type opsReceiver struct {
	url string

	mu         sync.Mutex
	verify     *standardwebhooks.Webhook
	accepted   map[string][]string // invoice ID → event types, in arrival order
	unverified int
}

func startOpsReceiver(tb testing.TB) *opsReceiver {
	tb.Helper()
	r := &opsReceiver{accepted: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var hook struct {
			Type string
			Data struct{ ID string }
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.verify == nil || r.verify.Verify(body, req.Header) != nil || json.Unmarshal(body, &hook) != nil {
			r.unverified++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.accepted[hook.Data.ID] = append(r.accepted[hook.Data.ID], hook.Type)
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(srv.Close)
	r.url = srv.URL + "/hook"
	return r
}

func (r *opsReceiver) setSecret(tb testing.TB, secret string) {
	tb.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		tb.Fatal(err)
	}
	r.mu.Lock()
	r.verify = wh
	r.mu.Unlock()
}

// got returns the event types accepted for invoice id, and how many
// requests did not verify.
func (r *opsReceiver) got(id string) ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.accepted[id]), r.unverified
}

// onlineLoad creates invoices from two clients until stopped, recording
// each one acknowledged in the order the acknowledgements arrived.
type onlineLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	acked []opsInvoice
	err   error
}

func startOnlineLoad(api opsAPI) *onlineLoad {
	l := &onlineLoad{stop: make(chan struct{})}
	for w := range 2 {
		l.wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				inv := opsInvoice{key: fmt.Sprintf("online-%d-%d", w, i), body: fmt.Sprintf(`{"customer_id":"cust_online","amount_cents":%d,"currency":"USD"}`, 100+i)}
				req, _ := http.NewRequest(http.MethodPost, api.base+"/invoices", strings.NewReader(inv.body))
				req.Header.Set("Authorization", "Bearer "+api.key)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", inv.key)
				res, err := client.Do(req)
				if err != nil {
					l.fail(err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					l.fail(fmt.Errorf("%s: %d %s", inv.key, res.StatusCode, body))
					return
				}
				var created struct{ ID string }
				if json.Unmarshal(body, &created) != nil || created.ID == "" {
					l.fail(fmt.Errorf("%s: %s", inv.key, body))
					return
				}
				inv.id = created.ID
				l.mu.Lock()
				l.acked = append(l.acked, inv)
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *onlineLoad) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

// count returns how many invoices have been acknowledged so far.
func (l *onlineLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// finish stops the load and returns every acknowledged invoice, failing
// the test if a request failed.
func (l *onlineLoad) finish(tb testing.TB) []opsInvoice {
	tb.Helper()
	close(l.stop)
	l.wg.Wait()
	if l.err != nil {
		tb.Fatalf("online load: %v", l.err)
	}
	return l.acked
}

// sealSegment seals the history segment name the way the service seals
// one that is full, so that the next one starts: its sources removed, no
// message taken any more.
func sealSegment(tb testing.TB, js jetstream.JetStream, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Sources, cfg.Sealed = nil, true
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		tb.Fatalf("seal %s: %v", name, err)
	}
}

// streamNames returns the names of every stream js reaches.
func streamNames(tb testing.TB, js jetstream.JetStream) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var names []string
	lister := js.StreamNames(ctx)
	for name := range lister.Name() {
		names = append(names, name)
	}
	if err := lister.Err(); err != nil {
		tb.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// connectLocked connects to an embedded server that admits only the seed
// in seedFile.
func connectLocked(tb testing.TB, url, seedFile string) jetstream.JetStream {
	tb.Helper()
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		tb.Fatal(err)
	}
	nc, err := nats.Connect(url, opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}
