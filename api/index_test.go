package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
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

func TestIndexPageNewestFirst(t *testing.T) {
	f := newIndexFixture(t)
	if lasts, next := f.x.Page(ListFilter{}, 0, 10); len(lasts) != 0 || next != 0 {
		t.Fatalf("empty index: Page = %v, %d; want nothing", lasts, next)
	}
	ids := f.requestMany("cus_a", 5)
	if got := entriesLen(f.x); got != 5 {
		t.Errorf("Len = %d, want 5", got)
	}
	lasts, next := f.x.Page(ListFilter{}, 0, 10)
	if want := []uint64{5, 4, 3, 2, 1}; !slices.Equal(lasts, want) {
		t.Errorf("Page = %v, want %v", lasts, want)
	}
	if want := f.lasts(ids...); !slices.Equal(lasts, want) {
		t.Errorf("Page = %v, want %v", lasts, want)
	}
	if next != 0 {
		t.Errorf("next = %d, want 0 (no more)", next)
	}
}

func TestIndexPageWalk(t *testing.T) {
	f := newIndexFixture(t)
	var ids []string
	for i := range 10 {
		ids = append(ids, f.request(fmt.Sprintf("cus_%d", i%3)))
		if i%4 == 0 {
			f.other("$JS.EVENT.noise") // leave gaps in the sequence
		}
	}
	want := f.lasts(ids...)
	tests := []struct {
		limit, pages int
	}{
		{1, 10}, {2, 5}, {3, 4}, {4, 3}, {7, 2}, {9, 2}, {10, 1}, {11, 1}, {100, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit %d", tt.limit), func(t *testing.T) {
			all, pages := walk(t, f.x, ListFilter{}, tt.limit)
			if !slices.Equal(all, want) {
				t.Errorf("walk = %v, want each invoice once, newest first: %v", all, want)
			}
			if pages != tt.pages {
				t.Errorf("pages = %d, want %d", pages, tt.pages)
			}
		})
	}
}

func TestIndexPageNextCursor(t *testing.T) {
	f := newIndexFixture(t)
	ids := f.requestMany("cus_a", 5)
	lasts, next := f.x.Page(ListFilter{}, 0, 2)
	if want := f.lasts(ids[3:]...); !slices.Equal(lasts, want) {
		t.Errorf("first page = %v, want %v", lasts, want)
	}
	if next != f.req[ids[3]] {
		t.Errorf("next = %d, want the requested sequence %d of the last one returned", next, f.req[ids[3]])
	}
	lasts, _ = f.x.Page(ListFilter{}, next, 2)
	if want := f.lasts(ids[1:3]...); !slices.Equal(lasts, want) {
		t.Errorf("second page = %v, want %v", lasts, want)
	}
	// A cursor beyond the newest invoice lists from the newest.
	lasts, _ = f.x.Page(ListFilter{}, f.seq+100, 1)
	if want := f.lasts(ids[4]); !slices.Equal(lasts, want) {
		t.Errorf("page before %d = %v, want %v", f.seq+100, lasts, want)
	}
	// A cursor at the oldest invoice lists nothing.
	lasts, next = f.x.Page(ListFilter{}, f.req[ids[0]], 10)
	if len(lasts) != 0 || next != 0 {
		t.Errorf("page before the oldest = %v, %d; want nothing", lasts, next)
	}
}

func TestIndexPageCursorStable(t *testing.T) {
	f := newIndexFixture(t)
	old := f.requestMany("cus_a", 6)
	first, next := f.x.Page(ListFilter{}, 0, 2)
	if next == 0 {
		t.Fatal("first page has no next cursor")
	}
	// New invoices, and an outcome of an old one, arrive between pages.
	added := f.requestMany("cus_a", 3)
	f.process(old[5]) // on the first page already
	f.process(old[1]) // on a later page: its newest sequence changes

	seen := slices.Clone(first)
	for before := next; before != 0; {
		var lasts []uint64
		lasts, before = f.x.Page(ListFilter{}, before, 2)
		seen = append(seen, lasts...)
	}
	want := append(slices.Clone(first), f.lasts(old[:4]...)...)
	if !slices.Equal(seen, want) {
		t.Errorf("walk across new invoices = %v, want %v", seen, want)
	}
	fresh, _ := walk(t, f.x, ListFilter{}, 4)
	if want := f.lasts(append(slices.Clone(old), added...)...); !slices.Equal(fresh, want) {
		t.Errorf("fresh walk = %v, want %v", fresh, want)
	}
}

func TestIndexPageFilters(t *testing.T) {
	f := newIndexFixture(t)
	a1 := f.request("cus_a")
	b1 := f.request("cus_b")
	a2 := f.request("cus_a")
	c1 := f.request("cus_c")
	a3 := f.request("cus_a")
	b2 := f.request("cus_b")
	a4 := f.request("cus_a")
	f.process(a1)
	f.fail(a3)
	f.process(b2)
	f.fail(c1)

	tests := []struct {
		name   string
		filter ListFilter
		want   []string // oldest first
	}{
		{"all", ListFilter{}, []string{a1, b1, a2, c1, a3, b2, a4}},
		{"customer a", ListFilter{CustomerID: "cus_a"}, []string{a1, a2, a3, a4}},
		{"customer b", ListFilter{CustomerID: "cus_b"}, []string{b1, b2}},
		{"unknown customer", ListFilter{CustomerID: "cus_z"}, nil},
		{"customer is exact", ListFilter{CustomerID: "CUS_A"}, nil},
		{"created", ListFilter{Status: events.StatusCreated}, []string{b1, a2, a4}},
		{"processed", ListFilter{Status: events.StatusProcessed}, []string{a1, b2}},
		{"failed", ListFilter{Status: events.StatusFailed}, []string{c1, a3}},
		{"customer a created", ListFilter{CustomerID: "cus_a", Status: events.StatusCreated}, []string{a2, a4}},
		{"customer a processed", ListFilter{CustomerID: "cus_a", Status: events.StatusProcessed}, []string{a1}},
		{"customer a failed", ListFilter{CustomerID: "cus_a", Status: events.StatusFailed}, []string{a3}},
		{"customer b failed", ListFilter{CustomerID: "cus_b", Status: events.StatusFailed}, nil},
		{"customer c failed", ListFilter{CustomerID: "cus_c", Status: events.StatusFailed}, []string{c1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := f.lasts(tt.want...)
			lasts, next := f.x.Page(tt.filter, 0, 100)
			if !slices.Equal(lasts, want) {
				t.Errorf("Page = %v, want %v", lasts, want)
			}
			if next != 0 {
				t.Errorf("next = %d, want 0", next)
			}
			for _, limit := range []int{1, 2, 3} {
				all, _ := walk(t, f.x, tt.filter, limit)
				if !slices.Equal(all, want) {
					t.Errorf("walk with limit %d = %v, want %v", limit, all, want)
				}
			}
		})
	}
}

func TestIndexStatusChanges(t *testing.T) {
	f := newIndexFixture(t)
	ids := f.requestMany("cus_a", 3)
	created := ListFilter{Status: events.StatusCreated}
	if lasts, _ := f.x.Page(created, 0, 10); !slices.Equal(lasts, []uint64{3, 2, 1}) {
		t.Fatalf("created = %v, want [3 2 1]", lasts)
	}

	processedAt := f.process(ids[1])
	if lasts, _ := f.x.Page(created, 0, 10); !slices.Equal(lasts, []uint64{3, 1}) {
		t.Errorf("created after processing = %v, want [3 1]", lasts)
	}
	if lasts, _ := f.x.Page(ListFilter{Status: events.StatusProcessed}, 0, 10); !slices.Equal(lasts, []uint64{processedAt}) {
		t.Errorf("processed = %v, want [%d]", lasts, processedAt)
	}
	// The list order stays by request; only the newest-event sequence moves.
	if lasts, _ := f.x.Page(ListFilter{}, 0, 10); !slices.Equal(lasts, []uint64{3, processedAt, 1}) {
		t.Errorf("all = %v, want [3 %d 1]", lasts, processedAt)
	}

	failedAt := f.fail(ids[0])
	if lasts, _ := f.x.Page(ListFilter{Status: events.StatusFailed}, 0, 10); !slices.Equal(lasts, []uint64{failedAt}) {
		t.Errorf("failed = %v, want [%d]", lasts, failedAt)
	}
	if lasts, _ := f.x.Page(ListFilter{}, 0, 10); !slices.Equal(lasts, []uint64{3, processedAt, failedAt}) {
		t.Errorf("all = %v, want [3 %d %d]", lasts, processedAt, failedAt)
	}
	if lasts, _ := f.x.Page(created, 0, 10); !slices.Equal(lasts, []uint64{3}) {
		t.Errorf("created = %v, want [3]", lasts)
	}
}

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

func TestIndexWaitFor(t *testing.T) {
	f := newIndexFixture(t)
	f.requestMany("cus_a", 2)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a guard only
	defer cancel()

	// Already reached: returns at once, even with an ended context.
	done, stop := context.WithCancel(ctx)
	stop()
	for _, seq := range []uint64{0, 1, 2} {
		if err := f.x.WaitFor(done, seq); err != nil {
			t.Errorf("WaitFor(%d) with applied 2 = %v, want nil", seq, err)
		}
	}

	// Not yet reached: returns once an Apply in another goroutine gets there.
	type msg struct {
		subject string
		seq     uint64
		data    []byte
	}
	var msgs []msg
	for seq := uint64(3); seq <= 5; seq++ {
		subject, data := encodeEvent(t, f.newRequested("cus_b"))
		msgs = append(msgs, msg{subject, seq, data})
	}
	const target = 6
	msgs = append(msgs, msg{"$KV.x", target, nil}) // a non-invoice message also counts
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ready
		for _, m := range msgs {
			if err := f.x.Apply(m.subject, m.seq, m.data); err != nil {
				t.Errorf("Apply(%s, %d) = %v", m.subject, m.seq, err)
			}
		}
	})
	waiters := make([]chan error, 3)
	for i := range waiters {
		waiters[i] = make(chan error, 1)
		go func(ch chan<- error) { ch <- f.x.WaitFor(ctx, target) }(waiters[i])
	}
	for i, ch := range waiters {
		select {
		case err := <-ch:
			t.Fatalf("waiter %d returned %v before sequence %d was applied", i, err, target)
		default:
		}
	}
	close(ready)
	for i, ch := range waiters {
		if err := <-ch; err != nil {
			t.Errorf("waiter %d: WaitFor = %v, want nil", i, err)
		}
	}
	wg.Wait()
	if got := entriesLen(f.x); got != 5 {
		t.Errorf("Len = %d, want 5", got)
	}
	if err := f.x.WaitFor(done, target+1); !errors.Is(err, ErrUnavailable) {
		t.Errorf("WaitFor(%d) = %v, want ErrUnavailable", target+1, err)
	}
}

func TestIndexWaitForCancelled(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(testing.TB) context.Context
	}{
		{"cancelled before", func(t testing.TB) context.Context {
			t.Helper()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
		{"cancelled while waiting", func(t testing.TB) context.Context {
			t.Helper()
			ctx, cancel := context.WithCancel(context.Background())
			go cancel()
			return ctx
		}},
		{"deadline", func(t testing.TB) context.Context {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newIndexFixture(t)
			f.request("cus_a")
			err := f.x.WaitFor(tt.ctx(t), 5)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("WaitFor = %v, want an error matching ErrUnavailable", err)
			}
			if p := problemFor(err); p.Status != 503 {
				t.Errorf("problem status = %d, want 503", p.Status)
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

func TestCursorRoundTrip(t *testing.T) {
	for _, seq := range []uint64{1, 2, 9, 10, 42, 1 << 32, math.MaxUint64} {
		t.Run(fmt.Sprint(seq), func(t *testing.T) {
			c := encodeCursor(seq)
			if c == "" || strings.ContainsAny(c, "+/=") {
				t.Errorf("encodeCursor(%d) = %q, want a non-empty URL-safe string", seq, c)
			}
			got, err := decodeCursor(c)
			if err != nil {
				t.Fatalf("decodeCursor(%q) = %v", c, err)
			}
			if got != seq {
				t.Errorf("decodeCursor(encodeCursor(%d)) = %d", seq, got)
			}
		})
	}
	if encodeCursor(1) == encodeCursor(2) {
		t.Error("different sequences give the same cursor")
	}
}

func TestCursorRejectsGarbage(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ name, cursor string }{
		{"empty", ""},
		{"not base64", "!!!"},
		{"plain text", "v1.5"},
		{"padded standard base64", base64.StdEncoding.EncodeToString([]byte("v1.5"))},
		{"zero", b64("v1.0")},
		{"other version", b64("v2.5")},
		{"no prefix", b64("5")},
		{"no digits", b64("v1.")},
		{"letters", b64("v1.abc")},
		{"negative", b64("v1.-1")},
		{"fraction", b64("v1.1.5")},
		{"spaces", b64("v1. 5")},
		{"overflow", b64("v1.18446744073709551616")},
		{"trailing junk", encodeCursor(5) + "!"},
		{"truncated", encodeCursor(123456)[:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq, err := decodeCursor(tt.cursor)
			if err == nil {
				t.Fatalf("decodeCursor(%q) = %d, want an error", tt.cursor, seq)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			var v *ValidationError
			if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != "cursor" {
				t.Errorf("error %v does not name the cursor field", err)
			}
		})
	}
}

func TestLimitParse(t *testing.T) {
	const def, maxLimit = 20, 100
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", def, false},
		{"1", 1, false},
		{"50", 50, false},
		{"100", 100, false},
		{"0", 0, true},
		{"101", 0, true},
		{"-1", 0, true},
		{"abc", 0, true},
		{"1.5", 0, true},
		{" 5", 0, true},
		{"5 ", 0, true},
		{"1e2", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := parseLimit(tt.in, def, maxLimit)
			if tt.wantErr {
				if f := fieldsOf(t, err); !slices.Equal(f, []string{"limit"}) {
					t.Errorf("error %v names %q, want [limit]", err, f)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLimit(%q) = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseLimit(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestStatusParse(t *testing.T) {
	tests := []struct {
		in      string
		want    events.Status
		wantErr bool
	}{
		{"", "", false},
		{"created", events.StatusCreated, false},
		{"processed", events.StatusProcessed, false},
		{"failed", events.StatusFailed, false},
		{"CREATED", "", true},
		{"Processed", "", true},
		{"pending", "", true},
		{" created", "", true},
		{"created,failed", "", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := parseStatus(tt.in)
			if tt.wantErr {
				if f := fieldsOf(t, err); !slices.Equal(f, []string{"status"}) {
					t.Errorf("error %v names %q, want [status]", err, f)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseStatus(%q) = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseStatus(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// entriesLen returns how many invoices x holds.
func entriesLen(x *Index) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}
