package dispatcher

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/openapi"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestWebhooksMatchTheDocument delivers an invoice's every event type and
// checks each webhook against the OpenAPI document's webhooks, and its
// signature with the Standard Webhooks reference library.
func TestWebhooksMatchTheDocument(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document())
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	f := newFixture(t)
	rc := &docReceiver{doc: doc}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	sub := f.subscribe(t, srv.URL+"/hooks")
	rc.secret = sub.Secrets[0].Value
	f.start(t, Config{})

	f.invoiceEvents(t) // invoice.created, invoice.processed
	req := events.NewRequested(events.Invoice{ID: uuid.NewString(), CustomerID: "cust", AmountCents: 999999,
		Currency: "EUR", Description: "too much", Metadata: map[string]string{"order": "A-1"}, CreatedAt: time.Now()},
		events.Idempotency{Caller: events.DefaultAccount, Endpoint: "POST /invoices", Key: "k", RequestHash: "h"})
	for _, ev := range []events.Event{req, events.NewFailed(req.Invoice, time.Now(), events.ReasonAmountExceedsLimit)} {
		statetest.Publish(t, f.js, ev)
	}
	want := []string{"invoice.created", "invoice.created", "invoice.failed", "invoice.processed"}
	natstest.Eventually(t, 10*time.Second, "every webhook received", func() bool { return len(rc.received()) == len(want) })
	if errs := rc.errors(); len(errs) > 0 {
		t.Fatalf("webhooks that break the document:\n%s", strings.Join(errs, "\n"))
	}
	if got := rc.received(); !slices.Equal(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}

// docReceiver checks every webhook against doc and answers 204.
type docReceiver struct {
	doc    *openapi3.T
	secret string
	mu     sync.Mutex
	got    []string // event types, as received
	errs   []string
}

func (rc *docReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = rc.check(r, body)
	}
	rc.mu.Lock()
	if err != nil {
		rc.errs = append(rc.errs, fmt.Sprintf("%s: %v", r.Header.Get("X-Event-Type"), err))
	}
	rc.got = append(rc.got, r.Header.Get("X-Event-Type"))
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// check validates one webhook as the one its X-Event-Type names.
func (rc *docReceiver) check(r *http.Request, body []byte) error {
	typ := r.Header.Get("X-Event-Type")
	item := rc.doc.Webhooks[typ]
	if item == nil || item.Post == nil {
		return fmt.Errorf("no webhook %q in the document", typ)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request: r, Options: &openapi3filter.Options{SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("uuid", openapi3.NewCallbackValidator(func(s string) error {
				_, err := uuid.Parse(s)
				return err
			})),
		}},
		Route: &routers.Route{Spec: rc.doc, Path: typ, PathItem: item, Method: http.MethodPost, Operation: item.Post},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("breaks the document: %w", err)
	}
	wh, err := standardwebhooks.NewWebhook(rc.secret)
	if err != nil {
		return err
	}
	return wh.Verify(body, r.Header)
}

// received returns the event types received so far, sorted.
func (rc *docReceiver) received() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Sorted(slices.Values(rc.got))
}

func (rc *docReceiver) errors() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.errs)
}
