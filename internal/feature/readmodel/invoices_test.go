package readmodel_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// ids returns the IDs of the invoices' latest states.
func ids(invs []readmodel.Invoice) []string {
	out := make([]string, len(invs))
	for i, inv := range invs {
		out[i] = inv.Latest().ID
	}
	return out
}

// walk reads every page of f, limit at a time, and returns the IDs in order
// and how many pages it took.
func walk(t *testing.T, s *readmodel.Store, f readmodel.InvoiceFilter, limit int) ([]string, int) {
	t.Helper()
	var all []string
	pages := 0
	for before := uint64(0); ; {
		page, next, err := s.Invoices(context.Background(), f, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, ids(page)...)
		if next == 0 {
			return all, pages
		}
		before = next
	}
}

func TestInvoicesComeFromTheHistory(t *testing.T) {
	fx := newFixture(t)
	a := fx.request("cust-a")
	b := fx.request("cust-b")
	c := fx.request("cust-a")
	fx.publish(events.NewProcessed(a.Invoice, epoch.Add(time.Hour)))
	fx.publish(events.NewFailed(b.Invoice, epoch.Add(time.Hour), events.ReasonAmountExceedsLimit))
	fx.caughtUp()
	ctx := context.Background()

	got, err := fx.store.Invoice(ctx, a.Invoice.ID)
	if err != nil || got.Latest().Status != events.StatusProcessed || got.Requested.Idempotency.Key != "key-1" {
		t.Fatalf("invoice a: %+v, %v", got, err)
	}
	if evs := got.Events(); len(evs) != 2 || evs[0].Type != events.InvoiceRequested || evs[1].Type != events.InvoiceProcessed {
		t.Fatalf("events of a: %+v", evs)
	}
	if _, err := fx.store.Invoice(ctx, "8c6a8951-867b-5867-ad21-f9492ab1066f"); !errors.Is(err, readmodel.ErrNotFound) {
		t.Fatalf("an unknown invoice: %v", err)
	}
	for _, tt := range []struct {
		name string
		f    readmodel.InvoiceFilter
		want []string
	}{
		{"all, newest first", readmodel.InvoiceFilter{}, []string{c.Invoice.ID, b.Invoice.ID, a.Invoice.ID}},
		{"a customer", readmodel.InvoiceFilter{CustomerID: "cust-a"}, []string{c.Invoice.ID, a.Invoice.ID}},
		{"a status", readmodel.InvoiceFilter{Status: events.StatusCreated}, []string{c.Invoice.ID}},
		{"processed", readmodel.InvoiceFilter{Status: events.StatusProcessed}, []string{a.Invoice.ID}},
		{"a customer and a status", readmodel.InvoiceFilter{CustomerID: "cust-a", Status: events.StatusProcessed}, []string{a.Invoice.ID}},
		{"none", readmodel.InvoiceFilter{CustomerID: "cust-b", Status: events.StatusCreated}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := walk(t, fx.store, tt.f, 1); !slices.Equal(got, tt.want) {
				t.Errorf("%v, want %v", got, tt.want)
			}
		})
	}
}

func TestInvoicePagesAreStableAsInvoicesArrive(t *testing.T) {
	fx := newFixture(t)
	var want []string
	for range 25 {
		want = append([]string{fx.request("cust").Invoice.ID}, want...)
	}
	fx.caughtUp()
	ctx := context.Background()
	first, next, err := fx.store.Invoices(ctx, readmodel.InvoiceFilter{}, 0, 10)
	if err != nil || !slices.Equal(ids(first), want[:10]) || next == 0 {
		t.Fatalf("first page %v, next %d, %v", ids(first), next, err)
	}
	fx.request("cust") // a newer invoice never shifts a later page
	fx.caughtUp()
	rest, _ := walk(t, fx.store, readmodel.InvoiceFilter{}, 10)
	second, _, err := fx.store.Invoices(ctx, readmodel.InvoiceFilter{}, next, 10)
	if err != nil || !slices.Equal(ids(second), want[10:20]) {
		t.Fatalf("second page %v, want %v", ids(second), want[10:20])
	}
	if got, pages := walk(t, fx.store, readmodel.InvoiceFilter{}, 13); len(got) != 26 || pages != 2 || !slices.Equal(rest, got) {
		t.Fatalf("walk: %d invoices in %d pages", len(got), pages)
	}
}

func TestAnUnreadableEventIsSkipped(t *testing.T) {
	fx := newFixture(t)
	a := fx.request("cust")
	fx.publishRaw(events.Subject(events.DefaultAccount, "8c6a8951-867b-5867-ad21-f9492ab1066f", events.InvoiceRequested), []byte(`{"schema":1,"garbage":true}`))
	fx.publishRaw(events.Subject(events.DefaultAccount, a.Invoice.ID, events.InvoiceProcessed), []byte(`{"schema":1,"unreadable`))
	b := fx.request("cust")
	fx.caughtUp()
	got, _ := walk(t, fx.store, readmodel.InvoiceFilter{}, 10)
	if !slices.Equal(got, []string{b.Invoice.ID, a.Invoice.ID}) {
		t.Fatalf("listed %v", got)
	}
	if inv, err := fx.store.Invoice(context.Background(), a.Invoice.ID); err != nil || inv.Outcome != nil {
		t.Fatalf("an unreadable outcome applied: %+v, %v", inv, err)
	}
}

func TestWaitForEndsWithTheContext(t *testing.T) {
	fx := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := fx.store.WaitFor(ctx, events.StreamInvoices, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor an event never stored: %v", err)
	}
	a := fx.request("cust")
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fx.store.WaitFor(ctx, events.StreamInvoices, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.Invoice(ctx, a.Invoice.ID); err != nil {
		t.Fatalf("WaitFor returned before the invoice was applied: %v", err)
	}
}

func TestARestartResumesWithoutTheHistoryBehindIt(t *testing.T) {
	fx := newFixture(t)
	a := fx.request("cust")
	fx.caughtUp()
	fx.close()
	at := fx.positionOnDisk(t)
	// Everything the file holds is gone from the streams: a restart that
	// replayed from the start could not find it again.
	for _, st := range []jetstream.Stream{fx.h.History, fx.h.Invoices} {
		if err := st.Purge(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	b := fx.request("cust")
	fx.open()
	if fx.store.Position(readmodel.HistoryPosition) < at {
		t.Fatalf("position %d after a restart, was %d", fx.store.Position(readmodel.HistoryPosition), at)
	}
	fx.caughtUp()
	got, _ := walk(t, fx.store, readmodel.InvoiceFilter{}, 10)
	if !slices.Equal(got, []string{b.Invoice.ID, a.Invoice.ID}) {
		t.Fatalf("after a restart: %v", got)
	}
	natstest.Eventually(t, 10*time.Second, "ready after a restart", func() bool { return fx.f.Ready() == nil })
}

// positionOnDisk opens the closed file alone and returns its history
// position.
func (fx *fixture) positionOnDisk(t *testing.T) uint64 {
	t.Helper()
	s, err := readmodel.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Position(readmodel.HistoryPosition) == 0 {
		t.Fatal("no position stored")
	}
	return s.Position(readmodel.HistoryPosition)
}

func TestAFileInUseIsRefused(t *testing.T) {
	fx := newFixture(t)
	if s, err := readmodel.Open(fx.path); err == nil {
		s.Close()
		t.Fatal("a second process opened the read model in use")
	}
}

func TestAFileOfAnotherHistoryIsBuiltAgain(t *testing.T) {
	fx := newFixture(t)
	fx.request("cust")
	fx.caughtUp()
	fx.close()
	// Another server, another history: the file moves with its data
	// directory, as to a new deployment.
	other := newFixture(t)
	other.close()
	other.path, other.n = fx.path, 100 // keys, and so invoice IDs, of its own
	b := other.request("cust-b")
	other.open()
	other.caughtUp()
	if got, _ := walk(t, other.store, readmodel.InvoiceFilter{}, 10); !slices.Equal(got, []string{b.Invoice.ID}) {
		t.Fatalf("after moving to another history: %v", got)
	}
}

// TestTheHistoryIsFollowedAcrossSegments seals history segments while the
// read model follows, and again while it is closed, and checks that it
// applies every one, resumes in the right one, and is ready only at the
// end of the newest.
func TestTheHistoryIsFollowedAcrossSegments(t *testing.T) {
	fx := newFixture(t)
	roll := func() {
		t.Helper()
		if err := history.AwaitInvoices(context.Background(), fx.js); err != nil {
			t.Fatal(err)
		}
		if _, err := (broker.Streams{HistorySegmentBytes: 1}).KeepHistory(context.Background(), fx.js, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for range 3 {
		want = append([]string{fx.request("cust").Invoice.ID}, want...)
		roll()
	}
	fx.caughtUp()
	fx.close()
	for range 2 {
		want = append([]string{fx.request("cust").Invoice.ID}, want...)
		roll()
	}
	fx.open()
	fx.caughtUp()
	if got, _ := walk(t, fx.store, readmodel.InvoiceFilter{}, 10); !slices.Equal(got, want) {
		t.Fatalf("across segments: %v, want %v", got, want)
	}
	natstest.Eventually(t, 10*time.Second, "ready at the newest segment", func() bool { return fx.f.Ready() == nil })
	if segment, _ := fx.store.HistoryApplied(); segment != history.SegmentName(6) {
		t.Fatalf("in %s, want the newest, %s", segment, history.SegmentName(6))
	}
}

// TestAnUnsyncedHistoryIsReadAgainFromWhatWasSurelyOnDisk: a segment
// written without a sync per message can lose its newest copies in a power
// loss, and JetStream then copies those events, and newer ones, again at
// the sequences they had. The read model, which may have applied what was
// lost, reads such a segment again from the last copy that was surely on
// disk, and so finds the newer events wherever they landed.
func TestAnUnsyncedHistoryIsReadAgainFromWhatWasSurelyOnDisk(t *testing.T) {
	fx := newFixtureWith(t, broker.Streams{HistoryUnsynced: true})
	a := fx.request("cust")
	fx.caughtUp()
	fx.close()
	// As if a power loss had taken the history's ten newest copies, which
	// the read model had applied: the next copies land where they were.
	db, err := sql.Open("sqlite", fx.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE positions SET seq = seq + 10 WHERE name = ?`, readmodel.HistoryPosition); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b := fx.request("cust")
	fx.open()
	fx.caughtUp()
	if got, _ := walk(t, fx.store, readmodel.InvoiceFilter{}, 10); !slices.Equal(got, []string{b.Invoice.ID, a.Invoice.ID}) {
		t.Fatalf("after the history lost its tail: %v", got)
	}
}

func TestTheReadModelRecordsHowFarTheHistoryIsSurelyOnDisk(t *testing.T) {
	readmodel.SetHistorySyncedAfter(t, 0) // every copy is on disk once stored
	fx := newFixtureWith(t, broker.Streams{HistoryUnsynced: true})
	fx.request("cust")
	fx.request("cust")
	fx.caughtUp()
	fx.close()
	at := fx.positionOnDisk(t)
	// A restart reads the segment again from here, not from its start.
	db, err := sql.Open("sqlite", fx.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var synced uint64
	if err := db.QueryRow(`SELECT seq FROM positions WHERE name = 'history synced'`).Scan(&synced); err != nil {
		t.Fatal(err)
	}
	if synced != at {
		t.Fatalf("history synced up to %d, applied up to %d", synced, at)
	}
}
