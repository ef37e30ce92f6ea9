package app

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/natstest"
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
	first := postInvoice(t, base, "kept-key", journeyBody)
	if first.status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.status, first.body)
	}
	id := field(t, first.body, "id")
	awaitStatus(t, base, id, "processed")
	// Compaction goes up to the last request the processor acknowledged:
	// a later invoice takes the first one's outcome along.
	later := postInvoice(t, base, "later-key", journeyBody)
	awaitStatus(t, base, field(t, later.body, "id"), "processed")
	natstest.Eventually(t, 45*time.Second, "the invoice's events leave INVOICES", func() bool {
		_, err := svc.handles.Invoices.GetLastMsgForSubject(context.Background(), events.InvoiceSubjects(id))
		return errors.Is(err, jetstream.ErrMsgNotFound)
	})

	replay := func(svc *Service) {
		t.Helper()
		base := "http://" + svc.Addr()
		again := postInvoice(t, base, "kept-key", journeyBody)
		if again.status != http.StatusCreated || again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, first.body) {
			t.Fatalf("replay: %d %q %s, want 201 replayed %s", again.status, again.header.Get("Idempotent-Replayed"), again.body, first.body)
		}
		other := postInvoice(t, base, "kept-key", `{"customer_id":"cust_123","amount_cents":2501,"currency":"USD"}`)
		if other.status != http.StatusUnprocessableEntity {
			t.Fatalf("the key with another body: %d %s, want 422", other.status, other.body)
		}
		if got := field(t, call(t, http.MethodGet, base+"/invoices/"+id, "").body, "status"); got != "processed" {
			t.Fatalf("GET: status %q", got)
		}
		list := call(t, http.MethodGet, base+"/invoices?customer_id=cust_123", "")
		if !bytes.Contains(list.body, []byte(id)) {
			t.Fatalf("list: %s", list.body)
		}
	}
	replay(svc)
	stopService(t, svc)
	replay(startService(t, cfg))
}
