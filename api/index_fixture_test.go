package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// indexFixture applies synthetic events to an Index with increasing stream
// sequence numbers and remembers what it applied.
type indexFixture struct {
	t        testing.TB
	x        *Index
	seq      uint64                    // newest sequence applied
	n        int                       // invoices requested so far
	invoices map[string]events.Invoice // by ID
	req      map[string]uint64         // requested sequence by ID
	last     map[string]uint64         // newest event sequence by ID
}

func newIndexFixture(t testing.TB) *indexFixture {
	t.Helper()
	return &indexFixture{
		t: t, x: NewIndex(),
		invoices: map[string]events.Invoice{},
		req:      map[string]uint64{},
		last:     map[string]uint64{},
	}
}

var indexEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// encodeEvent returns the subject and encoding of ev.
func encodeEvent(t testing.TB, ev events.Event) (subject string, data []byte) {
	t.Helper()
	data, err := events.Encode(ev)
	if err != nil {
		t.Fatalf("encode %s: %v", ev.Type, err)
	}
	return events.Subject(ev.Invoice.ID, ev.Type), data
}

// apply applies ev at the next sequence and returns that sequence.
func (f *indexFixture) apply(ev events.Event) uint64 {
	f.t.Helper()
	subject, data := encodeEvent(f.t, ev)
	f.seq++
	if err := f.x.Apply(subject, f.seq, data); err != nil {
		f.t.Fatalf("Apply(%s, %d): %v", ev.Type, f.seq, err)
	}
	f.invoices[ev.Invoice.ID] = ev.Invoice
	f.last[ev.Invoice.ID] = f.seq
	return f.seq
}

// request applies the InvoiceRequested event of a new invoice of customer
// and returns the invoice's ID.
func (f *indexFixture) request(customer string) string {
	f.t.Helper()
	ev := f.newRequested(customer)
	f.req[ev.Invoice.ID] = f.apply(ev)
	return ev.Invoice.ID
}

// newRequested returns the InvoiceRequested event of a new invoice of
// customer without applying it.
func (f *indexFixture) newRequested(customer string) events.Event {
	f.t.Helper()
	f.n++
	key := fmt.Sprintf("key-%d", f.n)
	inv := events.Invoice{
		ID:          events.InvoiceID("caller", "POST /invoices", key),
		CustomerID:  customer,
		AmountCents: int64(100 * f.n),
		Currency:    "USD",
		Metadata:    map[string]string{},
		CreatedAt:   indexEpoch.Add(time.Duration(f.n) * time.Second),
	}
	return events.NewRequested(inv, events.Idempotency{Caller: "caller", Endpoint: "POST /invoices", Key: key, RequestHash: "sha256:x"})
}

// requestMany requests n invoices of customer and returns their IDs, oldest
// first.
func (f *indexFixture) requestMany(customer string, n int) []string {
	f.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = f.request(customer)
	}
	return ids
}

func (f *indexFixture) process(id string) uint64 {
	f.t.Helper()
	return f.apply(events.NewProcessed(f.invoice(id), indexEpoch.Add(time.Hour)))
}

func (f *indexFixture) fail(id string) uint64 {
	f.t.Helper()
	return f.apply(events.NewFailed(f.invoice(id), indexEpoch.Add(time.Hour), events.ReasonAmountExceedsLimit))
}

func (f *indexFixture) invoice(id string) events.Invoice {
	f.t.Helper()
	inv, ok := f.invoices[id]
	if !ok {
		f.t.Fatalf("no invoice %s in the fixture", id)
	}
	return inv
}

// other applies a message that is not an invoice event.
func (f *indexFixture) other(subject string) uint64 {
	f.t.Helper()
	f.seq++
	if err := f.x.Apply(subject, f.seq, []byte("not json")); err != nil {
		f.t.Fatalf("Apply(%q, %d) = %v, want nil", subject, f.seq, err)
	}
	return f.seq
}

// lasts returns the newest-event sequences of ids, newest invoice first.
func (f *indexFixture) lasts(ids ...string) []uint64 {
	f.t.Helper()
	out := make([]uint64, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = f.last[id]
	}
	return out
}

// walk pages through f's index with limit and returns every sequence seen
// and the number of pages.
func walk(t testing.TB, x *Index, filter ListFilter, limit int) (all []uint64, pages int) {
	t.Helper()
	var before uint64
	for {
		pages++
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		lasts, next := x.Page(filter, before, limit)
		if len(lasts) > limit {
			t.Fatalf("page %d has %d items, more than the limit %d", pages, len(lasts), limit)
		}
		if next != 0 && len(lasts) != limit {
			t.Fatalf("page %d has %d items and a next cursor, want a full page of %d", pages, len(lasts), limit)
		}
		if next != 0 && before != 0 && next >= before {
			t.Fatalf("page %d: next cursor %d does not move back from %d", pages, next, before)
		}
		all = append(all, lasts...)
		if next == 0 {
			return all, pages
		}
		before = next
	}
}

// entriesLen returns how many invoices x holds.
func entriesLen(x *Index) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}
