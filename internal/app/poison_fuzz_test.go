package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/metrics"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// poisonEnv is a service with a subscription, a decided invoice and its
// deliveries, into whose streams and buckets tests store what is not a
// valid message, to see every read still answer.
type poisonEnv struct {
	svc                 *Service
	base                string
	sub, good, delivery string
}

func newPoisonEnv(t testing.TB) *poisonEnv {
	t.Helper()
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(receiver.Close)
	svc := startService(t, serveConfig(t, ""))
	e := &poisonEnv{svc: svc, base: "http://" + svc.Addr()}
	a := calltest.Call(t, http.MethodPost, e.base+"/webhooks/subscriptions", `{"url":"`+receiver.URL+`"}`, "Content-Type", "application/json")
	if a.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", a.Status, a.Body)
	}
	e.sub = calltest.Field(t, a.Body, "id")
	e.good = calltest.Field(t, calltest.PostInvoice(t, e.base, "poison-env", calltest.InvoiceBody).Body, "id")
	calltest.AwaitStatus(t, e.base, e.good, "processed")
	natstest.Eventually(t, 20*time.Second, "a delivery listed", func() bool {
		var list struct{ Data []struct{ ID string } }
		a := calltest.Call(t, http.MethodGet, e.base+"/webhooks/deliveries", "")
		if json.Unmarshal(a.Body, &list) != nil || len(list.Data) == 0 {
			return false
		}
		e.delivery = list.Data[0].ID
		return true
	})
	return e
}

// poisonTarget is a subject or bucket key the service reads, and which of
// its readers read it.
type poisonTarget struct {
	name string
	// subject returns where data posing as a message about id goes: a
	// subject, or a key of the live deliveries' bucket when live.
	subject func(e *poisonEnv, id string) string
	live    bool
	// good has the message pose as about the decided invoice, not a new
	// ID.
	good bool
	// readers are the metrics' readers that read it; each must count a
	// message that broken says is broken.
	readers []string
	// broken reports whether data under subject is surely no valid
	// message, by the contract's own decoders.
	broken func(subject string, data []byte) bool
}

func brokenEvent(subject string, data []byte) bool {
	_, err := events.DecodeMsg(subject, data)
	return err != nil
}

func brokenRecord(_ string, data []byte) bool {
	var d webhook.Delivery
	return json.Unmarshal(data, &d) != nil
}

func brokenTask(_ string, data []byte) bool {
	var task webhook.Task
	return json.Unmarshal(data, &task) != nil || task.DeliveryID == ""
}

func invoiceSubject(kind string) func(*poisonEnv, string) string {
	return func(_ *poisonEnv, id string) string { return events.SubjectPrefix + "." + id + kind }
}

// uncopiedTarget is the one target the history never copies: the read
// model passes over such messages only while they are last on INVOICES, so
// they are stored after the others.
var uncopiedTarget = poisonTarget{"no kind", invoiceSubject(""), false, false,
	[]string{metrics.ReaderReadModel, metrics.ReaderDispatcher}, brokenEvent}

// goodFailed poses as the decided invoice's failed event, which the
// console's invoice page reads from INVOICES beside the API.
var goodFailed = poisonTarget{"failed, of the decided invoice", invoiceSubject(".failed"), false, true,
	[]string{metrics.ReaderReadModel, metrics.ReaderDispatcher}, brokenEvent}

// poisonTargets are every subject and bucket key the service reads
// messages from, but the subscriptions' bucket: the API reads that one
// itself (api.Subscriptions).
var poisonTargets = []poisonTarget{
	{"requested", invoiceSubject(".requested"), false, false,
		[]string{metrics.ReaderReadModel, metrics.ReaderProcessor, metrics.ReaderDispatcher}, brokenEvent},
	{"processed", invoiceSubject(".processed"), false, false, []string{metrics.ReaderReadModel, metrics.ReaderDispatcher}, brokenEvent},
	{"requested, naming its account", invoiceSubject(".requested.default"), false, false,
		[]string{metrics.ReaderReadModel, metrics.ReaderProcessor, metrics.ReaderDispatcher}, brokenEvent},
	{"processed, naming another account", invoiceSubject(".processed.acme"), false, false,
		[]string{metrics.ReaderReadModel, metrics.ReaderDispatcher}, brokenEvent},
	goodFailed,
	{"unknown kind", invoiceSubject(".refunded"), false, false, []string{metrics.ReaderReadModel, metrics.ReaderDispatcher}, brokenEvent},
	{"task", func(e *poisonEnv, id string) string { return webhook.TaskSubject(e.sub, id) }, false, false,
		[]string{metrics.ReaderDispatcher}, brokenTask},
	{"retry", func(e *poisonEnv, id string) string { return webhook.RetryTaskSubject(e.sub, id) }, false, false,
		[]string{metrics.ReaderDispatcher}, brokenTask},
	{"settled record", func(e *poisonEnv, id string) string { return webhook.DoneSubject(e.sub, id) }, false, false,
		[]string{metrics.ReaderReadModel}, brokenRecord},
	{"live record", func(_ *poisonEnv, id string) string { return id }, true, false, []string{metrics.ReaderReadModel}, brokenRecord},
}

// store puts data, with {{ID}} and {{SUB}} standing for the ID the
// message poses as about and the subscription, under target, and returns
// where.
func (e *poisonEnv) store(t testing.TB, target poisonTarget, data []byte) (string, []byte) {
	t.Helper()
	id := uuid.NewString()
	if target.good {
		id = e.good
	}
	subject := target.subject(e, id)
	data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("{{ID}}"), []byte(id)), []byte("{{SUB}}"), []byte(e.sub))
	if !target.live {
		publishRaw(t, e.svc, subject, data)
		return subject, data
	}
	if _, err := e.svc.handles.Deliveries.Put(context.Background(), subject, data); err != nil {
		t.Fatalf("put %s: %v", subject, err)
	}
	return webhook.LiveSubject(subject), data
}

// poison stores every input under every target, those the history never
// copies last, and returns how many messages each reader must at least
// pass over. The console must pass over the decided invoice's failed event
// when the last one stored is broken: its invoice page reads it.
func (e *poisonEnv) poison(t testing.TB, inputs [][]byte) map[string]float64 {
	t.Helper()
	want := map[string]float64{}
	put := func(target poisonTarget, data []byte) {
		subject, data := e.store(t, target, data)
		broken := target.broken(subject, data)
		if target.good {
			want[metrics.ReaderConsole] = 0
			if broken {
				want[metrics.ReaderConsole] = 1
			}
		}
		if broken {
			for _, r := range target.readers {
				want[r]++
			}
		}
	}
	for _, data := range inputs {
		for _, target := range poisonTargets {
			put(target, data)
		}
	}
	for _, data := range inputs {
		put(uncopiedTarget, data)
	}
	return want
}

// skips returns each reader's count of messages passed over.
func (e *poisonEnv) skips(t testing.TB) map[string]float64 {
	t.Helper()
	_, series := scrape(t, e.base+"/metrics")
	out := map[string]float64{}
	for _, r := range metrics.Readers {
		out[r] = series[skipSeries(r)]
	}
	return out
}

// awaitSkips waits until each reader has passed over at least want more
// messages than before.
func (e *poisonEnv) awaitSkips(t testing.TB, before, want map[string]float64) {
	t.Helper()
	var got map[string]float64
	natstest.Eventually(t, 30*time.Second, fmt.Sprintf("skips counted: want %v more than %v", want, before), func() bool {
		got = e.skips(t)
		for r, n := range want {
			if got[r] < before[r]+n {
				return false
			}
		}
		return true
	})
}

// readPaths are every read the service answers: the API's and the
// console's.
func (e *poisonEnv) readPaths() []string {
	return []string{
		"/readyz", "/healthz", "/metrics",
		"/invoices", "/invoices?status=created", "/invoices?customer_id=cust_123", "/invoices/" + e.good,
		"/webhooks/deliveries", "/webhooks/deliveries?status=dead", "/webhooks/deliveries?status=pending",
		"/webhooks/deliveries/" + e.delivery, "/webhooks/subscriptions", "/webhooks/subscriptions/" + e.sub,
		"/console", "/console/invoices", "/console/invoices/" + e.good, "/console/deliveries",
		"/console/deliveries/" + e.delivery, "/console/dead-letters", "/console/subscriptions",
		"/console/subscriptions/" + e.sub, "/console/live/deliveries", "/console/live/dead-letters",
		"/console/live/health", "/console/live/deliveries/" + e.delivery,
	}
}

// sweep reads every path and fails t for each answered with a 5xx.
func (e *poisonEnv) sweep(t testing.TB) {
	t.Helper()
	for _, path := range e.readPaths() {
		if a := calltest.Call(t, http.MethodGet, e.base+path, ""); a.Status >= 500 {
			t.Errorf("GET %s: %d %.300s", path, a.Status, a.Body)
		}
	}
}

// check poisons the service with inputs and fails t unless every read
// answers without a 5xx and every reader counts what it must: the console
// once its invoice page has been read.
func (e *poisonEnv) check(t testing.TB, inputs [][]byte) {
	t.Helper()
	before := e.skips(t)
	want := e.poison(t, inputs)
	console := map[string]float64{metrics.ReaderConsole: want[metrics.ReaderConsole]}
	delete(want, metrics.ReaderConsole)
	e.awaitSkips(t, before, want)
	e.sweep(t)
	e.awaitSkips(t, before, console)
}

// nearlyValid are messages close to valid ones: wrong types, missing
// fields, huge numbers, other schemas, invalid UTF-8, the right shape
// about the wrong thing.
var nearlyValid = []string{
	``, `null`, `[]`, `{}`, `"text"`, `{"schema":1,"garbage":true}`, `{"schema":1,"unreadable`,
	`{"schema":"1","id":"e","type":"InvoiceRequested"}`,
	`{"schema":1e400}`, `{"schema":99999999999999999999999}`, `{"schema":2,"id":"e","type":"InvoiceProcessed","invoice":{"id":"{{ID}}","status":"processed"}}`,
	`{"schema":0,"id":"e","type":"InvoiceRequested","invoice":{"id":"{{ID}}","status":"created"},"idempotency":{}}`,
	`{"schema":1,"id":"e","type":"InvoiceRequested","time":"2026-01-01T00:00:00Z","invoice":{"id":"{{ID}}","status":"created"}}`,
	`{"schema":1,"id":"e","type":"InvoiceFailed","time":"not a time","invoice":{"id":"{{ID}}","status":"failed"}}`,
	`{"schema":1,"id":"e","type":"InvoiceProcessed","invoice":{"id":"{{ID}}","status":"processed","amount_cents":1e30}}`,
	`{"schema":1,"id":"e","type":"InvoiceProcessed","invoice":{"id":"{{ID}}","status":"processed","amount_cents":"12"}}`,
	"{\"schema\":1,\"id\":\"\xff\xfe\",\"type\":\"InvoiceFailed\",\"invoice\":{\"id\":\"{{ID}}\",\"status\":\"failed\",\"customer_id\":\"\xc3\x28\"}}",
	`{"schema":1,"id":"e","type":"InvoiceFailed","invoice":{"id":"00000000-0000-0000-0000-000000000000","status":"failed"}}`,
	`{"id":"{{ID}}","status":"on fire","subscription_id":"{{SUB}}"}`,
	`{"id":"{{ID}}","status":"dead","subscription_id":"{{SUB}}","attempts":"unreadable"}`,
	`{"id":"{{ID}}","status":"pending","subscription_id":"{{SUB}}","created_at":"99999-01-01T00:00:00Z"}`,
	`{"id":"not-a-uuid","status":"delivered","subscription_id":"{{SUB}}","attempts":[{"number":1e300}]}`,
	`{"id":1,"status":true}`, `{"delivery_id":""}`, `{"delivery_id":{"nested":[1,2,3]}}`,
	strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
	`{"schema":1,"id":"e","type":"` + strings.Repeat("T", 10000) + `"}`,
}

// poisonInputs returns the nearly valid messages and random bytes of
// every length up to a few KiB, drawn from rng.
func poisonInputs(rng *rand.Rand) [][]byte {
	var out [][]byte
	for _, s := range nearlyValid {
		out = append(out, []byte(s))
	}
	for n := 1; n <= 4096; n *= 4 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		out = append(out, b)
	}
	return out
}

// TestNothingStoredBreaksARead stores every nearly valid message and
// random bytes under every subject and key the service reads, at once.
func TestNothingStoredBreaksARead(t *testing.T) {
	e := newPoisonEnv(t)
	e.check(t, poisonInputs(rand.New(rand.NewPCG(20261207, 1))))
}

// FuzzNothingStoredBreaksARead stores what the fuzzer makes under every
// subject and key the service reads, one input at a time. The service's
// own goroutines move the coverage between inputs, so run it with
// -fuzzminimizetime 1x, or the engine spends its time minimizing:
//
//	go test -race -run '^$' -fuzz FuzzNothingStoredBreaksARead -fuzzminimizetime 1x -parallel 1 ./internal/app/
func FuzzNothingStoredBreaksARead(f *testing.F) {
	for _, s := range []string{`{"schema":1,"garbage":true}`, "\xff\x00",
		`{"schema":1,"id":"e","type":"InvoiceFailed","invoice":{"id":"{{ID}}","status":"failed"}}`,
		`{"id":"{{ID}}","status":"on fire","subscription_id":"{{SUB}}"}`} {
		f.Add([]byte(s))
	}
	e := newPoisonEnv(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		e.check(t, [][]byte{data[:min(len(data), 64<<10)]})
	})
}
