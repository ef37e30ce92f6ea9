package faults

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/invoiced/invoiced/events"
	hist "github.com/invoiced/invoiced/internal/infra/history"
	"github.com/nats-io/nats.go/jetstream"
)

// history is what the history holds of the invoices, per invoice and per
// key: every event INVOICES ever stored, and which, if any, it lacks.
type history struct {
	requested map[string]int      // invoice ID → InvoiceRequested events
	keys      map[string][]string // Idempotency-Key → invoice IDs requested with it
	outcomes  map[string][]events.Event
	missing   []uint64 // INVOICES sequences the history lacks
}

// readHistory waits until the history holds every event INVOICES has
// stored, then reads them all.
func readHistory(ctx context.Context, js jetstream.JetStream) (history, error) {
	h := history{requested: map[string]int{}, keys: map[string][]string{}, outcomes: map[string][]events.Event{}}
	if err := hist.AwaitInvoices(ctx, js); err != nil {
		return h, fmt.Errorf("faults: %w", err)
	}
	r, err := hist.NewReader(ctx, js, hist.Invoices, time.Time{})
	if err != nil {
		return h, fmt.Errorf("faults: history: %w", err)
	}
	var next uint64 = 1
	err = r.Each(ctx, func(m hist.Message) error {
		for ; next < m.Origin.Seq; next++ {
			h.missing = append(h.missing, next)
		}
		next = m.Origin.Seq + 1
		return h.add(m.Origin.Subject, m.Data)
	})
	if err != nil {
		return h, fmt.Errorf("faults: history: %w", err)
	}
	return h, nil
}

// add counts one stored event.
func (h history) add(subject string, data []byte) error {
	ev, err := events.DecodeMsg(subject, data)
	if err != nil {
		return fmt.Errorf("faults: history: %s: %w", subject, err)
	}
	id := ev.Invoice.ID
	switch ev.Type {
	case events.InvoiceRequested:
		h.requested[id]++
		if k := ev.Idempotency; k != nil && !slices.Contains(h.keys[k.Key], id) {
			h.keys[k.Key] = append(h.keys[k.Key], id)
		}
	default:
		h.outcomes[id] = append(h.outcomes[id], ev)
	}
	return nil
}
