package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// manualTasks returns the manual tasks stored for delivery d, oldest first.
func (e *deliveriesEnv) manualTasks(t testing.TB, d webhook.Delivery) []webhook.Task {
	t.Helper()
	ctx := context.Background()
	cons, err := e.js.OrderedConsumer(ctx, webhook.StreamWebhooks, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{webhook.ManualTaskSubject(d.SubscriptionID, d.ID)},
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tasks []webhook.Task
	for range info.NumPending {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("read task: %v", err)
		}
		var task webhook.Task
		if err := json.Unmarshal(msg.Data(), &task); err != nil {
			t.Fatalf("task %s: %v", msg.Data(), err)
		}
		tasks = append(tasks, task)
	}
	return tasks
}

// taskCount counts the manual tasks on the WEBHOOKS stream.
func (e *deliveriesEnv) taskCount(t testing.TB) uint64 {
	t.Helper()
	_, n := natstest.SubjectCounts(t, e.tasks, webhook.ManualTaskSubject("*", "*"))
	return n
}

func sameTask(t testing.TB, got, want webhook.Task) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("task %s\nwant %s", g, w)
	}
}

func TestRetryPublishesOneManualTask(t *testing.T) {
	e := newDeliveriesEnv(t)
	s := e.subscribe(t, `{"url":"https://example.com/hook"}`)
	d := e.put(t, e.record(s.ID, 1, webhook.DeliveryDead, webhook.EventInvoiceProcessed))
	retry := func() response { return e.do(t, http.MethodPost, "/webhooks/deliveries/"+d.ID+"/retry", nil) }

	r := retry()
	var got delivery
	r.json(t, &got)
	if r.status != http.StatusAccepted || got.ID != d.ID || string(got.Payload) != string(d.Body) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	tasks := e.manualTasks(t, d)
	if len(tasks) != 1 {
		t.Fatalf("%d tasks, want 1", len(tasks))
	}
	sameTask(t, tasks[0], d.ManualTask())
	if tasks[0].Trigger != webhook.TriggerManual {
		t.Fatalf("trigger %q", tasks[0].Trigger)
	}

	if r := retry(); r.status != http.StatusAccepted {
		t.Fatalf("second retry: %d %s", r.status, r.body)
	}
	if n := len(e.manualTasks(t, d)); n != 1 {
		t.Fatalf("a retry repeated before the next attempt stored %d tasks, want 1", n)
	}

	d.Attempts = append(d.Attempts, webhook.Attempt{Number: 2, Trigger: webhook.TriggerManual, HTTPStatus: 500})
	e.put(t, d)
	if r := retry(); r.status != http.StatusAccepted {
		t.Fatalf("retry after an attempt: %d %s", r.status, r.body)
	}
	if n := len(e.manualTasks(t, d)); n != 2 {
		t.Fatalf("a retry after another attempt: %d tasks, want 2", n)
	}

	before := e.taskCount(t)
	for _, id := range []string{uuid.NewString(), "nope"} {
		wantProblem(t, e.do(t, http.MethodPost, "/webhooks/deliveries/"+id+"/retry", nil), http.StatusNotFound, "")
	}
	if after := e.taskCount(t); after != before {
		t.Fatalf("a refused retry published: %d tasks, was %d", after, before)
	}
}

func TestRecoverSubscription(t *testing.T) {
	e := newDeliveriesEnv(t)
	s := e.subscribe(t, `{"url":"https://example.com/hook"}`)
	other := e.subscribe(t, `{"url":"https://example.com/other"}`)
	since := e.base.Add(10 * time.Second)

	oldFailing := e.put(t, e.record(s.ID, 1, webhook.DeliveryFailing, webhook.EventInvoiceCreated))
	failing := e.put(t, e.record(s.ID, 10, webhook.DeliveryFailing, webhook.EventInvoiceCreated)) // at since: included
	dead := e.put(t, e.record(s.ID, 11, webhook.DeliveryDead, webhook.EventInvoiceFailed))
	delivered := e.put(t, e.record(s.ID, 12, webhook.DeliveryDelivered, webhook.EventInvoiceCreated))
	pending := e.put(t, e.record(s.ID, 13, webhook.DeliveryPending, webhook.EventInvoiceCreated))
	otherDead := e.put(t, e.record(other.ID, 14, webhook.DeliveryDead, webhook.EventInvoiceCreated))

	recoverPath := "/webhooks/subscriptions/" + s.ID + "/recover"
	body := `{"since":"` + since.Format(time.RFC3339) + `"}`
	r := e.do(t, http.MethodPost, recoverPath, []byte(body), "Content-Type", "application/json")
	var out struct{ Recovered int }
	r.json(t, &out)
	if r.status != http.StatusAccepted || out.Recovered != 2 {
		t.Fatalf("%d %s, want 202 with 2 recovered", r.status, r.body)
	}
	for _, d := range []webhook.Delivery{failing, dead} {
		tasks := e.manualTasks(t, d)
		if len(tasks) != 1 {
			t.Fatalf("delivery %s (%s): %d tasks, want 1", d.EventID, d.Status, len(tasks))
		}
		sameTask(t, tasks[0], d.ManualTask())
	}
	if n := e.taskCount(t); n != 2 {
		t.Fatalf("the stream holds %d tasks, want 2 (not %s, %s, %s or %s)", n,
			oldFailing.EventID, delivered.EventID, pending.EventID, otherDead.EventID)
	}

	r = e.do(t, http.MethodPost, recoverPath, []byte(body), "Content-Type", "application/json")
	if r.status != http.StatusAccepted || e.taskCount(t) != 2 {
		t.Fatalf("a repeated recover: %d %s, %d tasks", r.status, r.body, e.taskCount(t))
	}
}

func TestRecoverRefusals(t *testing.T) {
	e := newDeliveriesEnv(t)
	s := e.subscribe(t, `{"url":"https://example.com/hook"}`)
	e.put(t, e.record(s.ID, 1, webhook.DeliveryDead, webhook.EventInvoiceCreated))
	path := "/webhooks/subscriptions/" + s.ID + "/recover"
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, path, contentType, body string
		status                        int
		field                         string
	}{
		{"no since", path, "application/json", `{}`, http.StatusBadRequest, "since"},
		{"since in the future", path, "application/json", `{"since":"` + future + `"}`, http.StatusBadRequest, "since"},
		{"since not RFC 3339", path, "application/json", `{"since":"yesterday"}`, http.StatusBadRequest, "since"},
		{"since a number", path, "application/json", `{"since":1700000000}`, http.StatusBadRequest, "since"},
		{"since null", path, "application/json", `{"since":null}`, http.StatusBadRequest, "since"},
		{"unknown field", path, "application/json", `{"since":"2024-01-01T00:00:00Z","status":"dead"}`, http.StatusBadRequest, "status"},
		{"not JSON", path, "text/plain", `since=2024`, http.StatusUnsupportedMediaType, ""},
		{"unknown subscription", "/webhooks/subscriptions/" + uuid.NewString() + "/recover", "application/json", `{"since":"2024-01-01T00:00:00Z"}`, http.StatusNotFound, ""},
		{"malformed subscription", "/webhooks/subscriptions/nope/recover", "application/json", `{"since":"2024-01-01T00:00:00Z"}`, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, tt.path, []byte(tt.body), "Content-Type", tt.contentType)
			wantProblem(t, r, tt.status, tt.field)
		})
	}
	// A disabled subscription is refused: its deliveries would only die again.
	disabled := e.subscribe(t, `{"url":"https://example.com/off"}`)
	e.put(t, e.record(disabled.ID, 2, webhook.DeliveryDead, webhook.EventInvoiceCreated))
	if r := e.do(t, http.MethodPatch, "/webhooks/subscriptions/"+disabled.ID, []byte(`{"status":"disabled"}`), "Content-Type", "application/json"); r.status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	wantProblem(t, e.do(t, http.MethodPost, "/webhooks/subscriptions/"+disabled.ID+"/recover", []byte(`{"since":"2024-01-01T00:00:00Z"}`),
		"Content-Type", "application/json"), http.StatusConflict, "")
	if n := e.taskCount(t); n != 0 {
		t.Fatalf("a refused recover published %d tasks", n)
	}
}

func TestRetryRefusedWhenTheLogIsFull(t *testing.T) {
	e := newDeliveriesEnv(t)
	s := e.subscribe(t, `{"url":"https://example.com/hook"}`)
	d := e.record(s.ID, 1, webhook.DeliveryDead, webhook.EventInvoiceCreated)
	for len(d.Attempts) < webhook.MaxAttempts {
		d.Attempts = append(d.Attempts, d.Attempts[0])
	}
	e.put(t, d)
	wantProblem(t, e.do(t, http.MethodPost, "/webhooks/deliveries/"+d.ID+"/retry", nil), http.StatusConflict, "")
	if n := e.taskCount(t); n != 0 {
		t.Fatalf("a refused retry published %d tasks", n)
	}
}

// TestRecoverRouteBesideSubscriptions checks that the recover route, mounted
// on the root router, leaves the subscriptions subrouter's routes working.
func TestRecoverRouteBesideSubscriptions(t *testing.T) {
	e := newDeliveriesEnv(t)
	s := e.subscribe(t, `{"url":"https://example.com/hook"}`)
	base := "/webhooks/subscriptions/" + s.ID
	if r := e.do(t, http.MethodGet, base, nil); r.status != http.StatusOK {
		t.Fatalf("get subscription: %d %s", r.status, r.body)
	}
	if r := e.do(t, http.MethodPost, base+"/rotate-secret", nil); r.status != http.StatusOK {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	r := e.do(t, http.MethodGet, base+"/recover", nil)
	wantProblem(t, r, http.StatusMethodNotAllowed, "")
	if allow := r.header.Get("Allow"); allow != http.MethodPost {
		t.Fatalf("Allow %q, want POST", allow)
	}
	wantProblem(t, e.do(t, http.MethodGet, "/webhooks/deliveries/"+uuid.NewString()+"/retry", nil), http.StatusMethodNotAllowed, "")
	wantProblem(t, e.do(t, http.MethodGet, base+"/nothing", nil), http.StatusNotFound, "")
	if r := e.do(t, http.MethodDelete, base, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	r = e.do(t, http.MethodPost, base+"/recover", []byte(`{"since":"2024-01-01T00:00:00Z"}`), "Content-Type", "application/json")
	if p := wantProblem(t, r, http.StatusNotFound, ""); !strings.Contains(p.Detail, s.ID) {
		t.Fatalf("detail %q", p.Detail)
	}
}
