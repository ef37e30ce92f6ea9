package app

import (
	"net/http"
	"testing"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/groupcommit"
	"github.com/invoiced/invoiced/internal/testing/calltest"
)

// TestTheAPIPublishesThroughWritersOfItsOwn runs every role in one process:
// the request goes through the API's writer of INVOICES, the outcome
// through the other roles' one, and the metrics count both.
func TestTheAPIPublishesThroughWritersOfItsOwn(t *testing.T) {
	svc := startService(t, serveConfig(t, t.TempDir()))
	base := "http://" + svc.Addr()
	created := calltest.PostInvoice(t, base, "own-writers", calltest.InvoiceBody)
	if created.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	calltest.AwaitStatus(t, base, calltest.Field(t, created.Body, "id"), "processed")
	sent := func(s groupcommit.Stats) uint64 { return s.Batched + s.Singles }
	api, shared := svc.apiGrouped.Writers()[events.StreamInvoices], svc.grouped.Writers()[events.StreamInvoices]
	if api == shared || sent(api.Stats()) != 1 || sent(shared.Stats()) != 1 {
		t.Fatalf("INVOICES writers: the API's sent %d, the others' %d (same writer: %v); want 1 each", sent(api.Stats()), sent(shared.Stats()), api == shared)
	}
	if got := sent(groupcommit.StatsOf(events.StreamInvoices, svc.grouped, svc.apiGrouped)()); got != 2 {
		t.Fatalf("metrics count %d messages sent to INVOICES, want 2", got)
	}
}
