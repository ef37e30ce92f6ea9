package readmodel

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/invoiced/invoiced/events"
)

// Event is one invoice event as the read model holds it, with what each
// delivery of it did.
type Event struct {
	Pos EventPos
	// Account owns the event's invoice.
	Account    string
	Event      events.Event
	Deliveries []EventDelivery
}

// EventPos is a place in the event order, the order of INVOICES: an
// event's sequence there, then 0 for a request and 1 for an outcome. The
// zero position is the start of a list.
type EventPos struct {
	Seq  uint64
	Kind int
}

// IsZero reports whether p is the start of a list.
func (p EventPos) IsZero() bool { return p.Seq == 0 }

// EventDelivery is what one delivery of an event did, as the read model
// holds it (a delivery is held from its first attempt).
type EventDelivery struct {
	ID, SubscriptionID, Status string
	Attempts                   int
}

// EventFilter selects events; empty fields match all.
type EventFilter struct {
	// Account keeps the events of the invoices one account owns.
	Account   string
	ID        string
	Type      events.Type
	InvoiceID string
	// Since keeps the events that happened at or after it.
	Since time.Time
	// Delivered, when set, keeps the events every delivery of which was
	// delivered (true), or those with a delivery that was not, yet or
	// ever (false).
	Delivered *bool
}

// Events returns, newest first, up to limit events that match f and come
// before position before (the zero position: from the newest), and the
// position of the next page: the last one returned, or the zero position
// when there are no more. It fails when the database cannot be read.
func (s *Store) Events(ctx context.Context, f EventFilter, before EventPos, limit int) ([]Event, EventPos, error) {
	limit = max(limit, 1)
	q, args := eventsQuery(f, before, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, EventPos{}, fmt.Errorf("read model: events: %w", err)
	}
	var out []Event
	for rows.Next() {
		var seq int64
		var e Event
		var body []byte
		if err := rows.Scan(&seq, &e.Pos.Kind, &e.Account, &body); err != nil {
			rows.Close()
			return nil, EventPos{}, fmt.Errorf("read model: events: %w", err)
		}
		e.Pos.Seq = uint64(seq)
		if e.Event, err = events.Decode(body); err != nil {
			rows.Close()
			return nil, EventPos{}, fmt.Errorf("read model: event at %d: %w", seq, err)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, EventPos{}, fmt.Errorf("read model: events: %w", err)
	}
	var next EventPos
	if len(out) > limit {
		out, next = out[:limit], out[limit-1].Pos
	}
	return out, next, s.addDeliveries(ctx, out)
}

// eventsQuery returns the statement, and its arguments, that reads up to
// limit events matching f before position before, newest first, each with
// the event as stored (the invoice's request or outcome).
func eventsQuery(f EventFilter, before EventPos, limit int) (string, []any) {
	var where []string
	var args []any
	for _, term := range []struct{ column, value string }{
		{"e.account", f.Account}, {"e.id", f.ID}, {"e.type", string(f.Type)}, {"e.invoice_id", f.InvoiceID},
	} {
		if term.value != "" {
			where, args = append(where, term.column+" = ?"), append(args, term.value)
		}
	}
	if !f.Since.IsZero() {
		// Events are stored nearly in time order; the oldest one since
		// bounds the range to read from below.
		since := unixNanos(f.Since)
		where = append(where, "e.created_at >= ?",
			"e.seq >= coalesce((SELECT min(seq) FROM events WHERE created_at >= ?), 9223372036854775807)")
		args = append(args, since, since)
	}
	if f.Delivered != nil {
		undelivered := "EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'delivered')"
		if *f.Delivered {
			undelivered = "NOT " + undelivered
		}
		where = append(where, undelivered)
	}
	if !before.IsZero() {
		where = append(where, "(e.seq < ? OR (e.seq = ? AND e.kind < ?))")
		args = append(args, int64(before.Seq), int64(before.Seq), before.Kind)
	}
	q := `SELECT e.seq, e.kind, e.account, CASE e.kind WHEN 0 THEN i.requested ELSE i.outcome END AS body
		FROM events e JOIN invoices i ON i.id = e.invoice_id`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return q + ` ORDER BY e.seq DESC, e.kind DESC LIMIT ?`, append(args, limit)
}

// addDeliveries fills in the deliveries of each event of page, oldest
// first. It fails when the database cannot be read.
func (s *Store) addDeliveries(ctx context.Context, page []Event) error {
	if len(page) == 0 {
		return nil
	}
	byID := make(map[string]*Event, len(page))
	args := make([]any, 0, len(page))
	for i := range page {
		byID[page[i].Event.ID] = &page[i]
		args = append(args, page[i].Event.ID)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT event_id, id, subscription_id, status,
			CASE WHEN json_valid(CAST(record AS TEXT)) THEN coalesce(json_array_length(CAST(record AS TEXT), '$.attempts'), 0) ELSE 0 END
		FROM deliveries WHERE event_id IN (?`+strings.Repeat(", ?", len(args)-1)+`) ORDER BY created_at, id`, args...)
	if err != nil {
		return fmt.Errorf("read model: deliveries of events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var eventID string
		var d EventDelivery
		if err := rows.Scan(&eventID, &d.ID, &d.SubscriptionID, &d.Status, &d.Attempts); err != nil {
			return fmt.Errorf("read model: deliveries of events: %w", err)
		}
		if e := byID[eventID]; e != nil {
			e.Deliveries = append(e.Deliveries, d)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read model: deliveries of events: %w", err)
	}
	return nil
}

// insertEvent adds the event of an invoice the invoices table holds, under
// that invoice's account; an event it holds already is left as it is.
const insertEvent = `INSERT INTO events(seq, kind, id, account, invoice_id, type, created_at)
	SELECT ?1, ?2, ?3, account, id, ?4, ?5 FROM invoices WHERE id = ?6
	ON CONFLICT DO NOTHING`

// fillEvents migrates version 4: it makes the events table and adds every
// stored invoice's events, an outcome at its request's seq, since the
// outcome's own sequence was not kept. It fails when the database cannot
// be read or written or a stored event does not decode.
func fillEvents(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range eventsSchema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	insert, err := tx.PrepareContext(ctx, insertEvent)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer insert.Close()
	for after := int64(0); ; {
		batch, err := invoicesAfter(ctx, tx, after)
		if err != nil || len(batch) == 0 {
			return err
		}
		for _, inv := range batch {
			for kind, ev := range inv.Events() {
				if _, err := insert.ExecContext(ctx, int64(inv.Seq), kind, ev.ID, string(ev.Type), unixNanos(ev.Time), ev.Invoice.ID); err != nil {
					return fmt.Errorf("migrate: invoice at %d: %w", inv.Seq, err)
				}
			}
		}
		after = int64(batch[len(batch)-1].Seq)
	}
}

// invoicesAfter returns up to 1,000 invoices after seq, in seq order.
func invoicesAfter(ctx context.Context, tx *sql.Tx, seq int64) ([]Invoice, error) {
	rows, err := tx.QueryContext(ctx, selectInvoice+` WHERE seq > ? ORDER BY seq LIMIT 1000`, seq)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer rows.Close()
	var out []Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return out, nil
}
