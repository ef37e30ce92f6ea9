package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/natstest"
	"github.com/invoiced/invoiced/internal/readmodel"
	"github.com/invoiced/invoiced/internal/webhook"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// oaReceiver is a webhook endpoint that checks every delivery against the
// document's webhooks and verifies its signature with the Standard Webhooks
// reference library. A path ending in /fail answers 500.
type oaReceiver struct {
	spec    *oaSpec
	mu      sync.Mutex
	secrets map[string]string   // by URL path
	got     map[string][]string // event types received, by URL path
	errs    []string
}

func (rc *oaReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = rc.check(r, body)
	}
	rc.mu.Lock()
	if err != nil {
		rc.errs = append(rc.errs, fmt.Sprintf("%s %s: %v", r.URL.Path, r.Header.Get("X-Event-Type"), err))
	}
	rc.got[r.URL.Path] = append(rc.got[r.URL.Path], r.Header.Get("X-Event-Type"))
	rc.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/fail") {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// check validates one delivery as the webhook its X-Event-Type names.
func (rc *oaReceiver) check(r *http.Request, body []byte) error {
	typ := r.Header.Get("X-Event-Type")
	item := rc.spec.doc.Webhooks[typ]
	if item == nil || item.Post == nil {
		return fmt.Errorf("no webhook %q in the document", typ)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request: r, Options: oaOptions(),
		Route: &routers.Route{Spec: rc.spec.doc, Path: typ, PathItem: item, Method: http.MethodPost, Operation: item.Post},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("breaks the document: %w", err)
	}
	rc.mu.Lock()
	secret := rc.secrets[r.URL.Path]
	rc.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	return wh.Verify(body, r.Header)
}

// received returns the event types path received so far, sorted.
func (rc *oaReceiver) received(path string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Sorted(slices.Values(rc.got[path]))
}

// checkAll fails t if a webhook broke the document, or /hooks/ok did not
// receive every event of the three invoices.
func (rc *oaReceiver) checkAll(t testing.TB) {
	t.Helper()
	rc.mu.Lock()
	errs := slices.Clone(rc.errs)
	rc.mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("webhooks that break the document:\n%s", strings.Join(errs, "\n"))
	}
	want := []string{"invoice.created", "invoice.created", "invoice.created", "invoice.failed", "invoice.processed"}
	if got := rc.received("/hooks/ok"); !slices.Equal(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}

// oaDeliverWebhooks runs a dispatcher while three invoices are created and
// two of them end, until every webhook is delivered to f.okSub or failing
// at f.failSub; the receiver checks each against the document.
func oaDeliverWebhooks(t testing.TB, e *oaEnv, f *oaFixtures) {
	t.Helper()
	stop := oaStartDispatcher(t, e)
	a := e.createInvoice(t, "hooks-a", `{"customer_id":"cust-hooks","amount_cents":2500,"metadata":{"order":"A-1"}}`)
	e.publish(t, events.NewProcessed(a, time.Now()))
	b := e.createInvoice(t, "hooks-b", `{"customer_id":"cust-hooks","amount_cents":999999,"currency":"EUR","description":"too much"}`)
	e.publish(t, events.NewFailed(b, time.Now(), events.ReasonAmountExceedsLimit))
	c := e.createInvoice(t, "hooks-c", `{"customer_id":"cust-other","amount_cents":100}`)
	f.processed, f.failed, f.created = a.ID, b.ID, c.ID
	natstest.Eventually(t, 20*time.Second, "every webhook delivered or failing", func() bool {
		return len(e.deliveryIDs(readmodel.DeliveryFilter{SubscriptionID: f.okSub, Status: webhook.DeliveryDelivered})) == 5 &&
			len(e.deliveryIDs(readmodel.DeliveryFilter{SubscriptionID: f.failSub, Status: webhook.DeliveryFailing})) == 3
	})
	stop()
	f.receiver.checkAll(t)
}

// oaStartDispatcher starts a dispatcher on e and returns what stops it,
// once, which cleanup also calls. A subscription receives the events that
// happen after it exists in the dispatcher's cache, which Start loads.
func oaStartDispatcher(t testing.TB, e *oaEnv) (stop func()) {
	t.Helper()
	d, err := dispatcher.New(e.js, e.subs, e.deliveries, e.h.Ending(e.js), dispatcher.Config{
		Timeout: 5 * time.Second, Schedule: webhook.Schedule{time.Hour}, Targets: oaTargets,
		UserAgent: "invoiced/openapi-test", Logger: discardLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = d.Stop(ctx)
		}
	}
	t.Cleanup(stop)
	return stop
}
