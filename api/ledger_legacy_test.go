package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
)

// unknowing is a read model that holds no invoice yet, as one that trails
// the stream by a moment does.
type unknowing struct{}

func (unknowing) Invoice(context.Context, string) (readmodel.Invoice, error) {
	return readmodel.Invoice{}, readmodel.ErrNotFound
}

func (unknowing) Invoices(context.Context, readmodel.InvoiceFilter, uint64, int) ([]readmodel.Invoice, uint64, error) {
	return nil, 0, nil
}

func (unknowing) WaitFor(context.Context, string, uint64) error { return nil }

type noLag struct{}

func (noLag) Behind() time.Duration { return 0 }

// TestAKeyUsedBeforeAccountsInSubjectsIsStillSpent stores a request as a
// version before accounts in subjects did, under invoices.<id>.requested
// and without a message ID, and sends the same key again while the read
// model does not know the invoice: the stream alone must answer it as a
// replay.
func TestAKeyUsedBeforeAccountsInSubjectsIsStillSpent(t *testing.T) {
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	h := statetest.Streams(t, js, broker.Streams{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := invoiceRequest{CustomerID: "cust_1", AmountCents: 100, Currency: "USD"}
	old := requestedEvent(DefaultCaller, "key", req, time.Now().Add(-time.Hour))
	old.Invoice.Account = ""
	data, err := events.Encode(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, strings.TrimSuffix(old.Subject(), "."+DefaultCaller), data); err != nil {
		t.Fatal(err)
	}

	inv, existed, err := NewLedger(js, h.Invoices, unknowing{}, noLag{}, time.Minute).Create(ctx, DefaultCaller, "key", req)
	if err != nil || !existed || inv.ID != old.Invoice.ID || !inv.CreatedAt.Equal(old.Invoice.CreatedAt) {
		t.Fatalf("Create = %+v, existed %v, %v; want the invoice stored before, replayed", inv, existed, err)
	}
	if info, err := h.Invoices.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("stream holds %v messages (%v), want the first request alone", info.State.Msgs, err)
	}
}
