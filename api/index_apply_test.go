package api

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/invoiced/invoiced/events"
)

func TestIndexApplyIgnoresOldSequence(t *testing.T) {
	f := newIndexFixture(t)
	ids := f.requestMany("cus_a", 3)
	before, _ := f.x.Page(ListFilter{}, 0, 10)

	// Replaying an applied event, or a new one at an applied sequence,
	// changes nothing.
	inv := f.invoice(ids[0])
	processed, err := events.Encode(events.NewProcessed(inv, indexEpoch))
	if err != nil {
		t.Fatal(err)
	}
	fresh := events.Invoice{ID: events.InvoiceID("caller", "POST /invoices", "late"), CustomerID: "cus_late", Metadata: map[string]string{}}
	requested, err := events.Encode(events.NewRequested(fresh, events.Idempotency{Key: "late"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		subject string
		seq     uint64
		data    []byte
	}{
		{"processed at an old sequence", events.Subject(inv.ID, events.InvoiceProcessed), 2, processed},
		{"processed at the newest sequence", events.Subject(inv.ID, events.InvoiceProcessed), 3, processed},
		{"new invoice at an old sequence", events.Subject(fresh.ID, events.InvoiceRequested), 1, requested},
		{"new invoice at the newest sequence", events.Subject(fresh.ID, events.InvoiceRequested), 3, requested},
		{"non-invoice at an old sequence", "other.subject", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.x.Apply(tt.subject, tt.seq, tt.data); err != nil {
				t.Fatalf("Apply = %v, want nil", err)
			}
			if got := entriesLen(f.x); got != 3 {
				t.Errorf("Len = %d, want 3", got)
			}
			if lasts, _ := f.x.Page(ListFilter{}, 0, 10); !slices.Equal(lasts, before) {
				t.Errorf("Page = %v, want unchanged %v", lasts, before)
			}
			if lasts, _ := f.x.Page(ListFilter{Status: events.StatusProcessed}, 0, 10); len(lasts) != 0 {
				t.Errorf("processed = %v, want none", lasts)
			}
			if lasts, _ := f.x.Page(ListFilter{CustomerID: "cus_late"}, 0, 10); len(lasts) != 0 {
				t.Errorf("cus_late = %v, want none", lasts)
			}
		})
	}
	// The same events at a new sequence are applied.
	if err := f.x.Apply(events.Subject(fresh.ID, events.InvoiceRequested), 4, requested); err != nil {
		t.Fatal(err)
	}
	if lasts, _ := f.x.Page(ListFilter{CustomerID: "cus_late"}, 0, 10); !slices.Equal(lasts, []uint64{4}) {
		t.Errorf("cus_late = %v, want [4]", lasts)
	}
	// A second InvoiceRequested of a known invoice does not add it twice.
	if err := f.x.Apply(events.Subject(fresh.ID, events.InvoiceRequested), 5, requested); err != nil {
		t.Fatal(err)
	}
	if got := entriesLen(f.x); got != 4 {
		t.Errorf("Len after a duplicate request = %d, want 4", got)
	}
}

func TestIndexApplyNonInvoiceAdvances(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	id := events.InvoiceID("caller", "POST /invoices", "k")
	tests := []struct {
		name    string
		subject string
		data    []byte
		wantErr bool
	}{
		{"other stream subject", "orders.created", []byte("{}"), false},
		{"empty subject", "", nil, false},
		{"invoice subject with bad id", "invoices.not-a-uuid.requested", []byte("{}"), false},
		{"invoice subject with unknown kind", "invoices." + id + ".refunded", []byte("{}"), false},
		{"invoice subject with extra token", "invoices." + id + ".requested.x", []byte("{}"), false},
		{"outcome of an unknown invoice", events.Subject(id, events.InvoiceProcessed), []byte("{}"), false},
		{"undecodable request", events.Subject(id, events.InvoiceRequested), []byte("{not json"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newIndexFixture(t)
			f.request("cus_a")
			err := f.x.Apply(tt.subject, 7, tt.data)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Apply = %v, want error %v", err, tt.wantErr)
			}
			if got := entriesLen(f.x); got != 1 {
				t.Errorf("Len = %d, want 1", got)
			}
			if lasts, _ := f.x.Page(ListFilter{}, 0, 10); !slices.Equal(lasts, []uint64{1}) {
				t.Errorf("Page = %v, want [1]", lasts)
			}
			if err := f.x.WaitFor(cancelled, 7); err != nil {
				t.Errorf("WaitFor(7) after applying 7 = %v, want nil", err)
			}
			if err := f.x.WaitFor(cancelled, 8); !errors.Is(err, ErrUnavailable) {
				t.Errorf("WaitFor(8) = %v, want ErrUnavailable", err)
			}
			// The skipped sequence counts as applied.
			if err := f.x.Apply(events.Subject(id, events.InvoiceRequested), 6, []byte(`{"invoice":{"customer_id":"x"}}`)); err != nil {
				t.Fatal(err)
			}
			if got := entriesLen(f.x); got != 1 {
				t.Errorf("Len after applying an older sequence = %d, want 1", got)
			}
		})
	}
}

func TestIndexConcurrentApplyAndPage(t *testing.T) {
	f := newIndexFixture(t)
	const n = 200
	subjects, datas := make([]string, n), make([][]byte, n)
	for i := range n {
		subjects[i], datas[i] = encodeEvent(t, f.newRequested("cus_a"))
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := f.x.Apply(subjects[i], uint64(i+1), datas[i]); err != nil {
				t.Errorf("Apply(%d) = %v", i+1, err)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for range n {
				lasts, _ := f.x.Page(ListFilter{CustomerID: "cus_a"}, 0, 5)
				if !slices.IsSortedFunc(lasts, func(a, b uint64) int { return cmp.Compare(b, a) }) {
					t.Errorf("Page = %v, want newest first", lasts)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := entriesLen(f.x); got != n {
		t.Errorf("Len = %d, want %d", got, n)
	}
}
