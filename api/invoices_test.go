package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

const body2500 = `{"customer_id":"cust_123","amount_cents":2500,"currency":"USD"}`

// storedMsgs returns how many events the INVOICES stream holds.
func (e *env) storedMsgs(t testing.TB) uint64 {
	t.Helper()
	info, err := e.stream.Info(context.Background())
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	return info.State.Msgs
}

func TestCreateThenGet(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.post(t, "inv-001", `{"customer_id":"cust_123","amount_cents":2500,"currency":"EUR","description":"June","metadata":{"order":"42"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var inv invoice
	r.json(t, &inv)
	if _, err := uuid.Parse(inv.ID); err != nil {
		t.Fatalf("id %q: %v", inv.ID, err)
	}
	want := invoice{ID: inv.ID, Status: "created", CustomerID: "cust_123", AmountCents: 2500, Currency: "EUR",
		Description: "June", Metadata: map[string]string{"order": "42"}, CreatedAt: inv.CreatedAt}
	if fmt.Sprint(inv) != fmt.Sprint(want) {
		t.Fatalf("invoice %+v, want %+v", inv, want)
	}
	if time.Since(inv.CreatedAt) > time.Minute || inv.CreatedAt.Location() != time.UTC {
		t.Fatalf("created_at %v", inv.CreatedAt)
	}
	if loc := r.header.Get("Location"); loc != "/invoices/"+inv.ID {
		t.Fatalf("Location %q", loc)
	}
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a first answer is marked as replayed")
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("security headers: %v", r.header)
	}
	got := e.do(t, http.MethodGet, "/invoices/"+inv.ID, nil)
	if got.status != http.StatusOK {
		t.Fatalf("GET right after 201: %d %s", got.status, got.body)
	}
	if !bytes.Equal(got.body, r.body) {
		t.Fatalf("GET %s\nPOST %s", got.body, r.body)
	}
}

func TestSameKeySameRequestReplaysByteIdentical(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.post(t, "inv-001", body2500)
	// The same request, with fields reordered and the default spelled out.
	again := e.post(t, "inv-001", `{"currency":"USD","amount_cents":2500,"customer_id":"cust_123","metadata":{}}`)
	if again.status != first.status || !bytes.Equal(again.body, first.body) {
		t.Fatalf("replay %d %s\nfirst %d %s", again.status, again.body, first.status, first.body)
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay lacks Idempotent-Replayed: true")
	}
	if again.header.Get("Location") != first.header.Get("Location") {
		t.Fatal("replay has another Location")
	}
	if n := e.storedMsgs(t); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
}

func TestSameKeyDifferentRequestIs422(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.post(t, "inv-001", body2500)
	for _, body := range []string{
		`{"customer_id":"cust_123","amount_cents":2501}`,
		`{"customer_id":"cust_999","amount_cents":2500}`,
		`{"customer_id":"cust_123","amount_cents":2500,"currency":"EUR"}`,
		`{"customer_id":"cust_123","amount_cents":2500,"metadata":{"a":"b"}}`,
	} {
		wantProblem(t, e.post(t, "inv-001", body), http.StatusUnprocessableEntity, "")
	}
	var inv invoice
	first.json(t, &inv)
	got := e.do(t, http.MethodGet, "/invoices/"+inv.ID, nil)
	if !bytes.Equal(got.body, first.body) {
		t.Fatalf("invoice changed: %s", got.body)
	}
	if n := e.storedMsgs(t); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
}

func TestKeyReplaysAfterDuplicateWindow(t *testing.T) {
	const window = 200 * time.Millisecond
	e := newEnv(t, envOptions{dedupWindow: window})
	first := e.post(t, "inv-window", body2500)
	if first.status != http.StatusCreated {
		t.Fatalf("status %d: %s", first.status, first.body)
	}
	start := time.Now()
	retries := 0
	for time.Since(start) < 4*window { // retries from inside the window to well past it
		again := e.post(t, "inv-window", body2500)
		if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry after %s: %d %s", time.Since(start), again.status, again.body)
		}
		retries++
		time.Sleep(window / 4) // pacing, not waiting for an outcome
	}
	wantProblem(t, e.post(t, "inv-window", `{"customer_id":"cust_123","amount_cents":1}`), http.StatusUnprocessableEntity, "")
	if n := e.storedMsgs(t); n != 1 {
		t.Fatalf("%d events stored after %d retries, want 1", n, retries)
	}
}

func TestConcurrentSameKeyCreatesOneInvoice(t *testing.T) {
	t.Run("alone", func(t *testing.T) { concurrentSameKey(t, envOptions{}) })
	t.Run("grouped into batches", func(t *testing.T) { concurrentSameKey(t, envOptions{grouped: true}) })
}

// concurrentSameKey posts one key 100 times at once, among 100 other keys,
// and checks that the key made one invoice, answered the same every time.
func concurrentSameKey(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	const n = 100
	var wg sync.WaitGroup
	answers := make([]response, n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			answers[i] = e.post(t, "inv-race", body2500)
		}()
		go func() {
			defer wg.Done()
			if r := e.post(t, fmt.Sprintf("inv-other-%d", i), body2500); r.status != http.StatusCreated {
				t.Errorf("another key: %d %s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	ids := map[string]int{}
	var bodies [][]byte
	for _, a := range answers {
		switch a.status {
		case http.StatusCreated:
			var inv invoice
			a.json(t, &inv)
			ids[inv.ID]++
			bodies = append(bodies, a.body)
		case http.StatusConflict:
			if a.header.Get("Retry-After") == "" {
				t.Fatal("409 without Retry-After")
			}
		default:
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("answers name %d invoices: %v", len(ids), ids)
	}
	for _, b := range bodies {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatalf("bodies differ:\n%s\n%s", b, bodies[0])
		}
	}
	if got := e.storedMsgs(t); got != 1+n {
		t.Fatalf("%d events stored, want %d", got, 1+n)
	}
	// Batches were sent; those the repeated key had refused were sent
	// again message by message.
	if st := e.writer; st != nil && st.Stats().Batches+st.Stats().Refused == 0 {
		t.Fatalf("no batch sent: %+v", st.Stats())
	}
}

func TestKeysAreScopedPerCaller(t *testing.T) {
	e := newEnv(t, envOptions{})
	inner := e.http.Config.Handler
	e.http.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(api.WithCaller(r.Context(), api.Caller{Account: r.Header.Get("X-Caller")})))
	})
	ids := map[string]bool{}
	for _, caller := range []string{"alice", "bob", "alice"} {
		r := e.do(t, http.MethodPost, "/invoices", []byte(body2500),
			"Content-Type", "application/json", "Idempotency-Key", "shared-key", "X-Caller", caller)
		if r.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", caller, r.status, r.body)
		}
		var inv invoice
		r.json(t, &inv)
		ids[inv.ID] = true
	}
	if len(ids) != 2 {
		t.Fatalf("%d invoices for two callers, want 2", len(ids))
	}
}

func TestBadRequestsAreProblemsAndStoreNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	huge := `{"customer_id":"c","amount_cents":1,"description":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name    string
		headers []string
		body    string
		status  int
		field   string
	}{
		{"no content type", []string{"Idempotency-Key", "k"}, body2500, 415, ""},
		{"form content type", []string{"Content-Type", "application/x-www-form-urlencoded", "Idempotency-Key", "k"}, body2500, 415, ""},
		{"no key", []string{"Content-Type", "application/json"}, body2500, 400, "Idempotency-Key"},
		{"empty key", []string{"Content-Type", "application/json", "Idempotency-Key", ""}, body2500, 400, "Idempotency-Key"},
		{"long key", []string{"Content-Type", "application/json", "Idempotency-Key", strings.Repeat("k", 256)}, body2500, 400, "Idempotency-Key"},
		{"non-ASCII key", []string{"Content-Type", "application/json", "Idempotency-Key", "clé"}, body2500, 400, "Idempotency-Key"},
		{"two keys", []string{"Content-Type", "application/json", "Idempotency-Key", "a", "Idempotency-Key", "b"}, body2500, 400, "Idempotency-Key"},
		{"too large", []string{"Content-Type", "application/json", "Idempotency-Key", "k"}, huge, 413, ""},
		{"malformed", []string{"Content-Type", "application/json", "Idempotency-Key", "k"}, `{"customer_id":`, 400, ""},
		{"unknown field", []string{"Content-Type", "application/json", "Idempotency-Key", "k"}, `{"customer_id":"c","amount_cents":1,"tax":2}`, 400, "tax"},
		{"wrong type", []string{"Content-Type", "application/json", "Idempotency-Key", "k"}, `{"customer_id":"c","amount_cents":"1"}`, 400, "amount_cents"},
		{"out of range", []string{"Content-Type", "application/json", "Idempotency-Key", "k"}, `{"customer_id":"c","amount_cents":1000000000001}`, 400, "amount_cents"},
		{"bad currency", []string{"Content-Type", "application/json", "Idempotency-Key", "k"}, `{"customer_id":"c","amount_cents":1,"currency":"usd"}`, 400, "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/invoices", []byte(tt.body), tt.headers...)
			wantProblem(t, r, tt.status, tt.field)
		})
	}
	if n := e.storedMsgs(t); n != 0 {
		t.Fatalf("bad requests stored %d events", n)
	}
}

func TestGetUnknownIs404(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, id := range []string{uuid.NewString(), "not-a-uuid", "a.b"} {
		wantProblem(t, e.do(t, http.MethodGet, "/invoices/"+id, nil), http.StatusNotFound, "")
	}
	wantProblem(t, e.do(t, http.MethodDelete, "/invoices", nil), http.StatusMethodNotAllowed, "")
	wantProblem(t, e.do(t, http.MethodGet, "/nothing-here", nil), http.StatusNotFound, "")
}

func TestUnreachableJetStreamIs503ThenRecovers(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, envOptions{storeDir: dir, requestTimeout: 500 * time.Millisecond})
	port := natstest.Port(t, e.srv)
	e.srv.Shutdown()
	e.srv.WaitForShutdown()

	r := e.post(t, "inv-outage", body2500)
	p := wantProblem(t, r, http.StatusServiceUnavailable, "")
	if r.header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %+v", p)
	}

	natstest.Start(t, natstest.Options{StoreDir: dir, Port: port})
	natstest.Eventually(t, 20*time.Second, "POST succeeds once NATS is back", func() bool {
		return e.post(t, "inv-outage", body2500).status == http.StatusCreated
	})
	if n := e.storedMsgs(t); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
}
