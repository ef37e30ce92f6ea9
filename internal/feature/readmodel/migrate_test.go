package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// schemaV3 is the layout of version 3, as files written before version 4
// hold it.
var schemaV3 = []string{
	`CREATE TABLE positions (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE invoices (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, account TEXT NOT NULL, customer_id TEXT NOT NULL,
		status TEXT NOT NULL, requested BLOB NOT NULL, outcome BLOB)`,
	`CREATE UNIQUE INDEX invoices_id ON invoices(id)`,
	`CREATE INDEX invoices_customer ON invoices(customer_id, seq)`,
	`CREATE INDEX invoices_account ON invoices(account, seq)`,
	`CREATE INDEX invoices_open ON invoices(status, seq) WHERE status <> 'processed'`,
	`CREATE TABLE deliveries (id TEXT NOT NULL, account TEXT NOT NULL, created_at INTEGER NOT NULL, subscription_id TEXT NOT NULL,
		event_type TEXT NOT NULL, status TEXT NOT NULL, version BLOB NOT NULL, record BLOB NOT NULL)`,
	`CREATE UNIQUE INDEX deliveries_id ON deliveries(id)`,
	`CREATE INDEX deliveries_created ON deliveries(created_at, id)`,
	`CREATE INDEX deliveries_account ON deliveries(account, created_at, id)`,
	`CREATE INDEX deliveries_subscription ON deliveries(subscription_id, created_at, id)`,
	`CREATE INDEX deliveries_open ON deliveries(status, created_at, id) WHERE status <> 'delivered'`,
	`PRAGMA user_version = 3`,
}

var v3Epoch = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

// v3File writes a file of version 3 at path holding invoices created at
// the given offsets from v3Epoch, in seq order, a delivery of each, and a
// position; requested, when not nil, replaces the stored request of the
// last invoice.
func v3File(t *testing.T, path string, offsets []time.Duration, requested []byte) ([]events.Event, []webhook.Delivery) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range schemaV3 {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var evs []events.Event
	var ds []webhook.Delivery
	for i, off := range offsets {
		key := fmt.Sprint("k", i)
		inv := events.Invoice{ID: events.InvoiceID("acme", "POST /invoices", key), Account: "acme", CustomerID: "cust", AmountCents: 1,
			Currency: "USD", CreatedAt: v3Epoch.Add(off)}
		ev := events.NewRequested(inv, events.Idempotency{Caller: "acme", Endpoint: "POST /invoices", Key: key, RequestHash: "h"})
		data, err := events.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if i == len(offsets)-1 && requested != nil {
			data = requested
		}
		if _, err := db.Exec(`INSERT INTO invoices VALUES (?, ?, 'acme', 'cust', 'created', ?, NULL)`, 2*i+1, inv.ID, data); err != nil {
			t.Fatal(err)
		}
		d := webhook.Delivery{ID: webhook.DeliveryID(ev.ID, "sub"), Account: "acme", SubscriptionID: "sub", EventID: ev.ID,
			EventType: webhook.EventInvoiceCreated, InvoiceID: inv.ID, Status: webhook.DeliveryDelivered, Attempts: []webhook.Attempt{},
			CreatedAt: inv.CreatedAt, UpdatedAt: inv.CreatedAt, Body: json.RawMessage(`{}`)}
		record, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO deliveries VALUES (?, 'acme', ?, 'sub', ?, ?, ?, ?)`,
			d.ID, d.CreatedAt.UnixNano(), d.EventType, d.Status, d.Version(), record); err != nil {
			t.Fatal(err)
		}
		evs, ds = append(evs, ev), append(ds, d)
	}
	if _, err := db.Exec(`INSERT INTO positions VALUES (?, 42)`, events.StreamInvoices); err != nil {
		t.Fatal(err)
	}
	return evs, ds
}

// storeOutcome stores ev as the outcome of the invoice at seq in the file
// at path, as version 3 stored one.
func storeOutcome(t *testing.T, path string, seq int, ev events.Event) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	data, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE invoices SET status = ?, outcome = ? WHERE seq = ?`, string(ev.Invoice.Status), data, seq); err != nil {
		t.Fatal(err)
	}
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAFileOfThePreviousSchemaIsMigrated opens a file of version 3 and
// checks that it keeps what it held, positions included, answers the
// filters of version 4 from the columns the migration filled, and lists
// the events it holds (version 5).
func TestAFileOfThePreviousSchemaIsMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	// The third invoice was created before the second, as a request that
	// took long to store is.
	evs, ds := v3File(t, path, []time.Duration{0, 10 * time.Second, 5 * time.Second, 20 * time.Second}, nil)
	done := events.NewProcessed(evs[0].Invoice, v3Epoch.Add(time.Minute))
	storeOutcome(t, path, 1, done)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if got := s.Position(events.StreamInvoices); got != 42 {
		t.Fatalf("position %d after the migration, want 42: the file was emptied", got)
	}
	page, _, err := s.Invoices(ctx, InvoiceFilter{}, 0, 10)
	if err != nil || len(page) != 4 {
		t.Fatalf("invoices after the migration: %d, %v", len(page), err)
	}
	idsOf := func(f InvoiceFilter) []string {
		t.Helper()
		page, _, err := s.Invoices(ctx, f, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, inv := range page {
			out = append(out, inv.Requested.Invoice.ID)
		}
		return out
	}
	id := func(i int) string { return evs[i].Invoice.ID }
	if got, want := idsOf(InvoiceFilter{CreatedAfter: v3Epoch.Add(4 * time.Second)}), []string{id(3), id(2), id(1)}; !slices.Equal(got, want) {
		t.Errorf("created after 4s: %v, want %v", got, want)
	}
	if got, want := idsOf(InvoiceFilter{CreatedBefore: v3Epoch.Add(10 * time.Second)}), []string{id(2), id(0)}; !slices.Equal(got, want) {
		t.Errorf("created before 10s: %v, want %v", got, want)
	}
	for i, d := range ds {
		for _, f := range []DeliveryFilter{{InvoiceID: d.InvoiceID}, {EventID: d.EventID}, {InvoiceID: d.InvoiceID, EventID: d.EventID, Account: "acme"}} {
			page, _, err := s.Deliveries(ctx, f, DeliveryCursor{}, 10)
			if err != nil || len(page) != 1 || page[0].ID != d.ID {
				t.Fatalf("delivery %d by %+v: %v, %v", i, f, page, err)
			}
		}
	}
	listed, _, err := s.Events(ctx, EventFilter{Account: "acme"}, EventPos{}, 10)
	var got []string
	for _, e := range listed {
		got = append(got, e.Event.ID)
	}
	// The outcome, stored before events were listed, stands right after
	// its request.
	if want := []string{evs[3].ID, evs[2].ID, evs[1].ID, done.ID, evs[0].ID}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("events after the migration: %v, %v; want %v", got, err, want)
	}
	if len(listed[4].Deliveries) != 1 || listed[4].Deliveries[0].ID != ds[0].ID {
		t.Fatalf("the first request's deliveries: %+v", listed[4].Deliveries)
	}
	since, _, err := s.Events(ctx, EventFilter{Since: v3Epoch.Add(30 * time.Second)}, EventPos{}, 10)
	if err != nil || len(since) != 1 || since[0].Event.ID != done.ID {
		t.Fatalf("events since the outcome: %+v, %v", since, err)
	}
	if v := userVersion(t, path); v != schemaVersion {
		t.Fatalf("user_version %d, want %d", v, schemaVersion)
	}
}

// TestAFailedMigrationLeavesTheFileAsItWas opens a file of version 3 that
// holds an invoice that does not decode: the open fails and the file is
// still of version 3, without the new columns.
func TestAFailedMigrationLeavesTheFileAsItWas(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	v3File(t, path, []time.Duration{0, time.Second}, []byte(`{"schema":1,"damaged`))
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("a file whose invoice does not decode was migrated")
	} else if !strings.Contains(err.Error(), "invoice at 3") {
		t.Fatalf("the error names no invoice: %v", err)
	}
	if v := userVersion(t, path); v != 3 {
		t.Fatalf("user_version %d after a failed migration", v)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`SELECT created_at FROM invoices`); err == nil {
		t.Fatal("a failed migration left a column behind")
	}
}

// TestListsReadTheIndexesMadeForThem checks the plans SQLite makes for
// the filtered lists: an invoice's or an event's deliveries come from
// their own index whatever else is asked, as do an invoice's and an
// account's events, and a list by creation time reads a range of seq, not
// the whole table.
func TestListsReadTheIndexesMadeForThem(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Now()
	plan := func(q string, args []any) string {
		t.Helper()
		rows, err := s.r.Query(`EXPLAIN QUERY PLAN `+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "; ")
	}
	for _, tt := range []struct {
		name string
		f    DeliveryFilter
		want string
	}{
		{"an invoice's", DeliveryFilter{InvoiceID: "i", Account: "a", Status: webhook.DeliveryFailing, SubscriptionID: "s"}, "deliveries_invoice (invoice_id=?"},
		{"an event's", DeliveryFilter{EventID: "e", InvoiceID: "i", Account: "a", Status: webhook.DeliveryDead}, "deliveries_event (event_id=?"},
		{"an account's in a window", DeliveryFilter{Account: "a", CreatedAfter: at, CreatedBefore: at}, "deliveries_account (account=? AND created_at>? AND created_at<?)"},
	} {
		q, args := deliveriesQuery(tt.f, DeliveryCursor{}, 10)
		if got := plan(q, args); !strings.Contains(got, tt.want) {
			t.Errorf("%s: plan %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		name string
		f    EventFilter
		want string
	}{
		{"an account's outcomes", EventFilter{Account: "a", Type: events.InvoiceProcessed}, "invoices_outcomes (account=?"},
		{"an account's requests", EventFilter{Account: "a", Type: events.InvoiceRequested}, "invoices_account (account=?"},
		{"every outcome since", EventFilter{Since: at, Type: events.InvoiceFailed}, "invoices_outcome_seq (outcome_seq>?)"},
	} {
		q, args := eventsQuery(tt.f, EventPos{}, 10)
		if got := plan(q, args); !strings.Contains(got, tt.want) {
			t.Errorf("%s: plan %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		name string
		f    InvoiceFilter
		want string
	}{
		{"after", InvoiceFilter{CreatedAfter: at}, "USING INTEGER PRIMARY KEY (rowid>?)"},
		{"before", InvoiceFilter{CreatedBefore: at}, "USING INTEGER PRIMARY KEY (rowid<?)"},
		{"a window", InvoiceFilter{CreatedAfter: at, CreatedBefore: at}, "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"},
		{"an account's window", InvoiceFilter{Account: "a", CreatedAfter: at, CreatedBefore: at}, "invoices_account (account=? AND seq>? AND seq<?)"},
	} {
		q, args := invoicesQuery(tt.f, 0, 10)
		got := plan(q, args)
		if !strings.Contains(got, tt.want) || strings.Contains(got, "SCAN") {
			t.Errorf("%s: plan %q, want %q and no scan", tt.name, got, tt.want)
		}
	}
}
