package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/testing/faults"
)

// The live service the nats CLI recipes run against, the invoices and
// webhook deliveries it holds, and the decoding of what the recipes print.

// natscliService is a live all-in-one invoiced, with the nats CLI pointed
// at its embedded NATS server and sqlite3 at its read model, a webhook
// subscription to a receiver of this test, and one to an endpoint that
// always fails, for failed invoices. It holds one processed and one failed
// invoice, each with both its events delivered to the receiver, and the
// failed one's webhook failing at the other endpoint. Its events stay on
// INVOICES for an hour, so the recipes for invoices in play show them.
type natscliService struct {
	cli        *natsCLI
	base       string // the API's URL
	hooks      *natscliReceiver
	subID      string            // the webhook subscription
	paid       string            // a processed invoice
	large      string            // an invoice failed for its amount
	deliveries map[string]string // event type by delivery ID, delivered
	failing    string            // the delivery failing at the other endpoint
}

// startNATSCLIService starts the service and waits until both invoices
// are settled and their four events delivered.
func startNATSCLIService(t *testing.T) *natscliService {
	t.Helper()
	s := &natscliService{cli: newNATSCLI(t), hooks: startNATSCLIReceiver(t)}
	natsAddr := faults.FreeAddr(t)
	s.cli.server, s.cli.dir = "nats://"+natsAddr, t.TempDir()
	// A loopback --addr with the embedded server lets webhooks reach the
	// loopback receiver (internal/infra/config/security.go).
	p := startProc(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(s.cli.dir, "data"),
		"--nats-listen", natsAddr, "--max-amount-cents", "10000", "--compact-after", "1h")
	s.base = p.base

	s.subID = subscribeURL(t, s.base, `{"url":"`+s.hooks.url+`"}`)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	failingSub := subscribeURL(t, s.base, `{"url":"`+failing.URL+`/hook","event_types":["invoice.failed"]}`)

	s.paid = createInvoice(t, s.base, "natscli-paid", 2500)
	s.large = createInvoice(t, s.base, "natscli-large", 250000) // above --max-amount-cents
	waitFor(t, 20*time.Second, "both invoices settled", func() (bool, string) {
		a, b := statusOf(t, s.base, s.paid), statusOf(t, s.base, s.large)
		return a == "processed" && b == "failed", "statuses " + a + ", " + b
	})
	// Each invoice's created and processed/failed event, to one subscription.
	s.deliveries = waitForDeliveries(t, s.base, "status=delivered", 4)
	for id := range waitForDeliveries(t, s.base, "status=failing&subscription_id="+failingSub, 1) {
		s.failing = id
	}
	return s
}

// subscribeURL creates a subscription with body and returns its ID.
func subscribeURL(tb testing.TB, base, body string) string {
	tb.Helper()
	status, answer := call(tb, http.MethodPost, base+"/webhooks/subscriptions", body)
	if status != http.StatusCreated {
		tb.Fatalf("subscribe: %d %s", status, answer)
	}
	return jsonField(tb, answer, "id")
}

// natscliInvoice is a settled invoice of the service, and what its events
// must show.
type natscliInvoice struct {
	name    string
	id      string
	history []events.Type // its events' types, oldest first
	status  events.Status // its status once settled
}

// settled returns the service's two settled invoices.
func (s *natscliService) settled() []natscliInvoice {
	return []natscliInvoice{
		{"processed invoice", s.paid, []events.Type{events.InvoiceRequested, events.InvoiceProcessed}, events.StatusProcessed},
		{"failed invoice", s.large, []events.Type{events.InvoiceRequested, events.InvoiceFailed}, events.StatusFailed},
	}
}

// natscliReceiver is a webhook receiver that answers 204 and records the
// webhook-id (the event ID) of each request.
type natscliReceiver struct {
	url string // where webhooks go

	mu       sync.Mutex
	received map[string]bool
}

func startNATSCLIReceiver(tb testing.TB) *natscliReceiver {
	tb.Helper()
	r := &natscliReceiver{received: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.received[req.Header.Get("webhook-id")] = true
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(srv.Close)
	r.url = srv.URL + "/hook"
	return r
}

// got reports whether a webhook with webhook-id eventID arrived.
func (r *natscliReceiver) got(eventID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.received[eventID]
}

// waitFor polls cond until it holds, failing with its last note after
// timeout.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, note := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not after %s: %s", what, timeout, note)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call makes a request with a JSON body, if any, and returns the
// response's status and body.
func call(tb testing.TB, method, url, body string) (int, []byte) {
	tb.Helper()
	status, _, b := request(tb, method, url, body)
	return status, b
}

// request sends body (as JSON when not empty) with header's name and value
// pairs, and returns the answer; it fails tb when no answer comes.
func request(tb testing.TB, method, url, body string, header ...string) (int, http.Header, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// jsonField returns the string field name of the JSON object body,
// failing the test if it is missing or empty.
func jsonField(tb testing.TB, body []byte, name string) string {
	tb.Helper()
	var m map[string]any
	decode(tb, body, &m)
	s, _ := m[name].(string)
	if s == "" {
		tb.Fatalf("no %q in %s", name, body)
	}
	return s
}

// createInvoice creates an invoice of amount cents and returns its ID.
func createInvoice(tb testing.TB, base, key string, amount int) string {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/invoices",
		strings.NewReader(fmt.Sprintf(`{"customer_id":"cust_natscli","amount_cents":%d,"currency":"USD"}`, amount)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		tb.Fatalf("create invoice %s: %d %s", key, res.StatusCode, body)
	}
	return jsonField(tb, body, "id")
}

// waitForDeliveries waits until n deliveries match query and returns their
// event types by delivery ID.
func waitForDeliveries(tb testing.TB, base, query string, n int) map[string]string {
	tb.Helper()
	got := map[string]string{}
	waitFor(tb, 30*time.Second, fmt.Sprintf("%d deliveries %s", n, query), func() (bool, string) {
		status, body := call(tb, http.MethodGet, base+"/webhooks/deliveries?"+query, "")
		var list struct {
			Data []struct {
				ID        string `json:"id"`
				EventType string `json:"event_type"`
			} `json:"data"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &list) != nil {
			return false, fmt.Sprintf("%d %s", status, body)
		}
		clear(got)
		for _, d := range list.Data {
			got[d.ID] = d.EventType
		}
		return len(got) == n, string(body)
	})
	return got
}

// consumerInfo is the part of `nats consumer info --json` checked here.
type consumerInfo struct {
	Stream         string         `json:"stream_name"`
	Name           string         `json:"name"`
	Config         consumerConfig `json:"config"`
	Delivered      sequenceInfo   `json:"delivered"`
	AckFloor       sequenceInfo   `json:"ack_floor"`
	NumAckPending  *uint64        `json:"num_ack_pending"`
	NumRedelivered *uint64        `json:"num_redelivered"`
	NumPending     *uint64        `json:"num_pending"`
}

type consumerConfig struct {
	DeliverPolicy string     `json:"deliver_policy"`
	OptStartSeq   uint64     `json:"opt_start_seq"`
	OptStartTime  *time.Time `json:"opt_start_time"`
}

type sequenceInfo struct {
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
}

// streamMessage is the part of `nats stream get --json` checked here.
type streamMessage struct {
	Subject string    `json:"subject"`
	Seq     uint64    `json:"seq"`
	Data    []byte    `json:"data"` // base64 in the output
	Time    time.Time `json:"time"`
}

// deliveryRecord is the part of a webhook_deliveries value checked here.
type deliveryRecord struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	EventID        string `json:"event_id"`
	EventType      string `json:"event_type"`
	InvoiceID      string `json:"invoice_id"`
	Status         string `json:"status"`
	Attempts       []struct {
		Number     int       `json:"number"`
		StartedAt  time.Time `json:"started_at"`
		URL        string    `json:"url"`
		HTTPStatus int       `json:"http_status"`
	} `json:"attempts"`
	Body json.RawMessage `json:"body"`
}

// parseEvents decodes one event a line, as `nats sub --raw` prints them.
func parseEvents(tb testing.TB, out []byte) []events.Event {
	tb.Helper()
	var evs []events.Event
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ev, err := events.Decode([]byte(line))
		if err != nil {
			tb.Fatalf("not an event: %v\n%s", err, out)
		}
		evs = append(evs, ev)
	}
	return evs
}

// eventTypes returns the types of evs, in order.
func eventTypes(evs []events.Event) []events.Type {
	var types []events.Type
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	return types
}

// eventIDs returns the IDs of evs, in order.
func eventIDs(evs []events.Event) []string {
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	return ids
}

// decode decodes data, JSON, into v, failing the test if it cannot.
func decode(tb testing.TB, data []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		tb.Fatalf("decode %T: %v\n%s", v, err, data)
	}
}

// mapsEqual reports whether a and b hold the same entries.
func mapsEqual[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
