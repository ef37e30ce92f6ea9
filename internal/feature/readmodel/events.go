package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
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
// before position before (the zero position: from the newest), each with
// what its deliveries did, and the position of the next page: the last one
// returned, or the zero position when there are no more. It fails when the
// database cannot be read.
func (s *Store) Events(ctx context.Context, f EventFilter, before EventPos, limit int) ([]Event, EventPos, error) {
	limit = max(limit, 1)
	var out []Event
	var err error
	if f.InvoiceID != "" {
		out, err = s.invoiceEvents(ctx, f, before)
	} else {
		out, err = s.listEvents(ctx, f, before, limit+1)
	}
	if err != nil {
		return nil, EventPos{}, err
	}
	var next EventPos
	if len(out) > limit {
		out, next = out[:limit], out[limit-1].Pos
	}
	return out, next, nil
}

// listEvents returns up to limit events that match f before position
// before, newest first, from the events table.
func (s *Store) listEvents(ctx context.Context, f EventFilter, before EventPos, limit int) ([]Event, error) {
	q, args := eventsQuery(f, before, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read model: events: %w", err)
	}
	var out []Event
	for rows.Next() {
		var seq int64
		var e Event
		var body []byte
		if err := rows.Scan(&seq, &e.Pos.Kind, &e.Account, &body); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read model: events: %w", err)
		}
		e.Pos.Seq = uint64(seq)
		if e.Event, err = events.Decode(body); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read model: event at %d: %w", seq, err)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read model: events: %w", err)
	}
	return out, s.addDeliveries(ctx, out)
}

// eventsQuery returns the statement, and its arguments, that reads up to
// limit events matching f (but its InvoiceID) before position before,
// newest first, each with the event as stored: the newest requests (in the
// order of seq) and the newest outcomes (of outcome_seq), merged.
func eventsQuery(f EventFilter, before EventPos, limit int) (string, []any) {
	var parts []string
	var args []any
	if f.Type == "" || f.Type == events.InvoiceRequested {
		q, a := requestsQuery(f, before, limit)
		parts, args = append(parts, q), append(args, a...)
	}
	if f.Type != events.InvoiceRequested {
		q, a := outcomesQuery(f, before, limit)
		parts, args = append(parts, q), append(args, a...)
	}
	q := `SELECT pos, kind, account, body FROM (` + strings.Join(parts, `) UNION ALL SELECT pos, kind, account, body FROM (`) + `)`
	return q + ` ORDER BY pos DESC, kind DESC LIMIT ?`, append(args, limit)
}

// requestsQuery returns the half of eventsQuery that reads requests: a
// since bound is a creation-time range (createdRange), as a request
// happens when its invoice is created.
func requestsQuery(f EventFilter, before EventPos, limit int) (string, []any) {
	var where []string
	var args []any
	if f.Account != "" {
		where, args = append(where, "account = ?"), append(args, f.Account)
	}
	if !f.Since.IsZero() {
		where, args = createdRange(where, args, f.Since.Add(-time.Nanosecond), time.Time{})
	}
	if f.Delivered != nil {
		where = append(where, undelivered("= 'invoice.created'", *f.Delivered))
	}
	if !before.IsZero() {
		op := "<"
		if before.Kind > 0 {
			op = "<="
		}
		where, args = append(where, "seq "+op+" ?"), append(args, int64(before.Seq))
	}
	q := `SELECT seq AS pos, 0 AS kind, account, requested AS body FROM invoices`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return q + ` ORDER BY seq DESC LIMIT ?`, append(args, limit)
}

// outcomesQuery returns the half of eventsQuery that reads outcomes. A
// since bound starts after the newest outcome whose outcome_max is
// earlier: every outcome past it is at least that late, and none at or
// before it happened since; finding it reads the outcomes since.
func outcomesQuery(f EventFilter, before EventPos, limit int) (string, []any) {
	where := []string{"outcome_seq IS NOT NULL"}
	var args []any
	if f.Account != "" {
		where, args = append(where, "account = ?"), append(args, f.Account)
	}
	if f.Type != "" {
		where, args = append(where, "status = ?"), append(args, string(outcomeStatus(f.Type)))
	}
	if !f.Since.IsZero() {
		since := unixNanos(f.Since)
		where = append(where, "outcome_at >= ?", `outcome_seq > coalesce((SELECT outcome_seq FROM invoices
			WHERE outcome_seq IS NOT NULL AND outcome_max < ? ORDER BY outcome_seq DESC LIMIT 1), 0)`)
		args = append(args, since, since)
	}
	if f.Delivered != nil {
		where = append(where, undelivered("IN ('invoice.processed', 'invoice.failed')", *f.Delivered))
	}
	if !before.IsZero() {
		where, args = append(where, "outcome_seq < ?"), append(args, int64(before.Seq))
	}
	q := `SELECT outcome_seq AS pos, 1 AS kind, account, outcome AS body FROM invoices WHERE ` + strings.Join(where, " AND ")
	return q + ` ORDER BY outcome_seq DESC LIMIT ?`, append(args, limit)
}

// undelivered returns the term that keeps the events every delivery of
// which was delivered (delivered) or those with one that was not: the
// deliveries of the invoice whose event type is as typeTerm says.
func undelivered(typeTerm string, delivered bool) string {
	term := `EXISTS (SELECT 1 FROM deliveries d WHERE d.invoice_id = invoices.id AND d.event_type ` + typeTerm +
		` AND d.status <> 'delivered')`
	if delivered {
		return "NOT " + term
	}
	return term
}

// outcomeStatus returns the status an outcome of type t leaves.
func outcomeStatus(t events.Type) events.Status {
	if t == events.InvoiceFailed {
		return events.StatusFailed
	}
	return events.StatusProcessed
}

// invoiceEvents returns the events of invoice f.InvoiceID that match f
// before position before, newest first: read from its row, which holds
// both. It fails when the database cannot be read.
func (s *Store) invoiceEvents(ctx context.Context, f EventFilter, before EventPos) ([]Event, error) {
	var seq int64
	var outcomeSeq sql.NullInt64
	var account string
	var requested, outcome []byte
	err := s.r.QueryRowContext(ctx, `SELECT seq, outcome_seq, account, requested, outcome FROM invoices WHERE id = ?`, f.InvoiceID).
		Scan(&seq, &outcomeSeq, &account, &requested, &outcome)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (f.Account != "" && account != f.Account):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read model: events of invoice %s: %w", f.InvoiceID, err)
	}
	all := []Event{{Pos: EventPos{Seq: uint64(seq)}, Account: account}}
	bodies := [][]byte{requested}
	if outcome != nil && outcomeSeq.Valid {
		at := EventPos{Seq: uint64(outcomeSeq.Int64), Kind: 1}
		all, bodies = append([]Event{{Pos: at, Account: account}}, all...), append([][]byte{outcome}, bodies...)
	}
	for i := range all {
		if all[i].Event, err = events.Decode(bodies[i]); err != nil {
			return nil, fmt.Errorf("read model: events of invoice %s: %w", f.InvoiceID, err)
		}
	}
	if err := s.addDeliveries(ctx, all); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(e Event) bool { return !f.keeps(e, before) }), nil
}

// keeps reports whether e, one of an invoice's events, matches f and comes
// before position before, as eventsQuery would judge it.
func (f EventFilter) keeps(e Event, before EventPos) bool {
	switch {
	case f.Type != "" && e.Event.Type != f.Type,
		!f.Since.IsZero() && e.Event.Time.Before(f.Since),
		!before.IsZero() && (e.Pos.Seq > before.Seq || (e.Pos.Seq == before.Seq && e.Pos.Kind >= before.Kind)):
		return false
	case f.Delivered == nil:
		return true
	}
	delivered := true
	for _, d := range e.Deliveries {
		delivered = delivered && d.Status == webhook.DeliveryDelivered
	}
	return delivered == *f.Delivered
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

// setOutcome completes an invoice with its outcome, once, at the
// outcome's place on INVOICES, with the newest outcome time up to it.
// Outcomes come in the order of INVOICES.
const setOutcome = `UPDATE invoices SET status = ?1, outcome = ?2, outcome_seq = ?3, outcome_at = ?4,
	outcome_max = max(?4, coalesce((SELECT outcome_max FROM invoices WHERE outcome_seq IS NOT NULL ORDER BY outcome_seq DESC LIMIT 1), ?4))
	WHERE id = ?5 AND outcome IS NULL`

// fillOutcomes migrates version 4: it adds the outcome columns and places
// every stored outcome right after its request (outcome_seq = seq), since
// its own sequence was not kept. It fails when the database cannot be read
// or written or a stored outcome does not decode.
func fillOutcomes(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`ALTER TABLE invoices ADD COLUMN outcome_seq INTEGER`,
		`ALTER TABLE invoices ADD COLUMN outcome_at INTEGER`,
		`ALTER TABLE invoices ADD COLUMN outcome_max INTEGER`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	update, err := tx.PrepareContext(ctx, `UPDATE invoices SET outcome_seq = seq, outcome_at = ?, outcome_max = ? WHERE seq = ?`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer update.Close()
	newest := int64(math.MinInt64)
	for after := int64(0); ; {
		batch, err := invoicesAfter(ctx, tx, after)
		if err != nil || len(batch) == 0 {
			return err
		}
		for _, inv := range batch {
			if inv.Outcome == nil {
				continue
			}
			at := unixNanos(inv.Outcome.Time)
			newest = max(newest, at)
			if _, err := update.ExecContext(ctx, at, newest, int64(inv.Seq)); err != nil {
				return fmt.Errorf("migrate: invoice at %d: %w", inv.Seq, err)
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
