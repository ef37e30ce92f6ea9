package app

import (
	"net/http"
	"testing"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/groupcommit"
)

// TestTheAPIPublishesThroughWritersOfItsOwn runs every role in one process:
// the request goes through the API's writer of INVOICES, the outcome
// through the other roles' one, and the metrics count both.
func TestTheAPIPublishesThroughWritersOfItsOwn(t *testing.T) {
	svc := startService(t, serveConfig(t, t.TempDir()))
	base := "http://" + svc.Addr()
	created := postInvoice(t, base, "own-writers", journeyBody)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	awaitStatus(t, base, field(t, created.body, "id"), "processed")
	sent := func(s groupcommit.Stats) uint64 { return s.Batched + s.Singles }
	api, shared := svc.apiGrouped.Writers()[events.StreamInvoices], svc.grouped.Writers()[events.StreamInvoices]
	if api == shared || sent(api.Stats()) != 1 || sent(shared.Stats()) != 1 {
		t.Fatalf("INVOICES writers: the API's sent %d, the others' %d (same writer: %v); want 1 each", sent(api.Stats()), sent(shared.Stats()), api == shared)
	}
	if got := sent(svc.groupStats(events.StreamInvoices)()); got != 2 {
		t.Fatalf("metrics count %d messages sent to INVOICES, want 2", got)
	}
}
