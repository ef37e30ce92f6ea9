package app

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// TestAKeyOutlivesItsEvents makes an invoice, waits until compaction has
// removed its events from INVOICES, and replays its key, before and after a
// restart: the answer is the first one, byte for byte, and reads and lists
// still find the invoice.
func TestAKeyOutlivesItsEvents(t *testing.T) {
	dir := t.TempDir()
	cfg := serveConfig(t, dir, "--request-timeout", "1s", "--compact-after", "11s")
	svc := startService(t, cfg)
	base := "http://" + svc.Addr()
	first := calltest.PostInvoice(t, base, "kept-key", calltest.InvoiceBody)
	if first.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	id := calltest.Field(t, first.Body, "id")
	calltest.AwaitStatus(t, base, id, "processed")
	// Compaction goes up to the last request the processor acknowledged:
	// a later invoice takes the first one's outcome along.
	later := calltest.PostInvoice(t, base, "later-key", calltest.InvoiceBody)
	calltest.AwaitStatus(t, base, calltest.Field(t, later.Body, "id"), "processed")
	natstest.Eventually(t, 45*time.Second, "the invoice's events leave INVOICES", func() bool {
		_, err := svc.handles.Invoices.GetLastMsgForSubject(context.Background(), events.InvoiceSubjects(id))
		return errors.Is(err, jetstream.ErrMsgNotFound)
	})

	replay := func(svc *Service) {
		t.Helper()
		base := "http://" + svc.Addr()
		again := calltest.PostInvoice(t, base, "kept-key", calltest.InvoiceBody)
		if again.Status != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("replay: %d %q %s, want 201 replayed %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body, first.Body)
		}
		other := calltest.PostInvoice(t, base, "kept-key", `{"customer_id":"cust_123","amount_cents":2501,"currency":"USD"}`)
		if other.Status != http.StatusUnprocessableEntity {
			t.Fatalf("the key with another body: %d %s, want 422", other.Status, other.Body)
		}
		if got := calltest.Field(t, calltest.Call(t, http.MethodGet, base+"/invoices/"+id, "").Body, "status"); got != "processed" {
			t.Fatalf("GET: status %q", got)
		}
		list := calltest.Call(t, http.MethodGet, base+"/invoices?customer_id=cust_123", "")
		if !bytes.Contains(list.Body, []byte(id)) {
			t.Fatalf("list: %s", list.Body)
		}
	}
	replay(svc)
	stopService(t, svc)
	replay(startService(t, cfg))
}
