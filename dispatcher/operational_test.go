package dispatcher

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/invoiced/invoiced/internal/contract/openapi"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestOperationalWebhooks makes one endpoint answer 410, one fail once and
// then succeed, and one fail always, and checks what a subscription that
// lists the operational events hears, each webhook against the document:
// the 410's dead delivery and disabled subscription, the recovery, and the
// dead deliveries of invoice events only, never of operational ones.
func TestOperationalWebhooks(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Document())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	ops := &docReceiver{doc: doc}
	opsSrv := httptest.NewServer(ops)
	t.Cleanup(opsSrv.Close)
	opsSub := f.subscribe(t, opsSrv.URL+"/ops", webhook.OperationalEventTypes...)
	ops.secret = opsSub.Secrets[0].Value

	gone := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	goneSub := f.subscribe(t, gone.URL, webhook.EventInvoiceCreated)
	var flakyCalls atomic.Int32
	flaky := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if flakyCalls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	f.subscribe(t, flaky.URL, webhook.EventInvoiceCreated)
	broken := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	f.subscribe(t, broken.URL, append([]string{webhook.EventInvoiceCreated}, webhook.OperationalEventTypes...)...)

	f.start(t, Config{})
	f.invoiceEvents(t)
	// Dead: gone's (410) and broken's invoice.created. Disabled: gone.
	// Recovered: flaky. broken hears those too, fails, and its dead
	// operational deliveries are announced to nobody.
	want := []string{"delivery.dead", "delivery.dead", "delivery.recovered", "subscription.disabled"}
	natstest.Eventually(t, 15*time.Second, "the operational webhooks", func() bool { return len(ops.received()) >= len(want) })
	// Give broken's operational deliveries time to die: nothing more may come.
	natstest.Eventually(t, 15*time.Second, "broken's deliveries dead", func() bool {
		n := 0
		for _, r := range broken.requests() {
			if strings.Contains(string(r.body), `"type":"delivery.`) || strings.Contains(string(r.body), `"type":"subscription.`) {
				n++
			}
		}
		return n >= 4*(len(testSchedule)+1) // each of the four, every attempt
	})
	if errs := ops.errors(); len(errs) > 0 {
		t.Fatalf("operational webhooks that break the document:\n%s", strings.Join(errs, "\n"))
	}
	if got := ops.received(); !slices.Equal(got, want) {
		t.Fatalf("heard %v, want %v", got, want)
	}
	if s := f.subscription(t, goneSub.ID); s.Status != webhook.StatusDisabled {
		t.Fatalf("gone's subscription: %s", s.Status)
	}
	for _, r := range gone.requests() {
		if !strings.Contains(string(r.body), `"type":"invoice.created"`) {
			t.Fatalf("the disabled subscription heard of itself: %s", r.body)
		}
	}
}
