package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/invoiced/invoiced/events"
)

// Invoice is one invoice as the read model holds it.
type Invoice struct {
	// Seq is the sequence of its InvoiceRequested event on INVOICES: the
	// list order.
	Seq uint64
	// Requested is the event that created it.
	Requested events.Event
	// Outcome is its InvoiceProcessed or InvoiceFailed event, if any.
	Outcome *events.Event
}

// Latest returns the invoice's newest state.
func (i Invoice) Latest() events.Invoice {
	if i.Outcome != nil {
		return i.Outcome.Invoice
	}
	return i.Requested.Invoice
}

// Events returns the invoice's events, oldest first.
func (i Invoice) Events() []events.Event {
	if i.Outcome == nil {
		return []events.Event{i.Requested}
	}
	return []events.Event{i.Requested, *i.Outcome}
}

// selectInvoice reads the columns scanInvoice takes.
const selectInvoice = `SELECT seq, requested, outcome FROM invoices`

// ErrNotFound is returned, wrapped, for an invoice or delivery the read
// model does not hold.
var ErrNotFound = errors.New("not in the read model")

// Invoice returns invoice id. It fails with ErrNotFound when the read
// model holds no such invoice, and when the database cannot be read.
func (s *Store) Invoice(ctx context.Context, id string) (Invoice, error) {
	row := s.getInvoice.QueryRowContext(ctx, id)
	inv, err := scanInvoice(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Invoice{}, fmt.Errorf("invoice %s: %w", id, ErrNotFound)
	}
	return inv, err
}

// InvoiceFilter selects invoices; empty fields match all.
type InvoiceFilter struct {
	// Account keeps the invoices one account owns.
	Account    string
	CustomerID string
	Status     events.Status
	// CreatedAfter and CreatedBefore, when not zero, keep the invoices
	// created strictly after and strictly before them.
	CreatedAfter, CreatedBefore time.Time
}

// Invoices returns, newest first, up to limit invoices that match f and
// were requested before sequence before (0 for the newest), and the cursor
// of the next page: the sequence of the last one returned, or 0 when there
// are no more. It fails when the database cannot be read.
func (s *Store) Invoices(ctx context.Context, f InvoiceFilter, before uint64, limit int) ([]Invoice, uint64, error) {
	limit = max(limit, 1)
	q, args := invoicesQuery(f, before, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read model: invoices: %w", err)
	}
	defer rows.Close()
	var out []Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read model: invoices: %w", err)
	}
	if len(out) <= limit {
		return out, 0, nil
	}
	out = out[:limit]
	return out, out[limit-1].Seq, nil
}

// invoicesQuery returns the statement, and its arguments, that reads up to
// limit invoices matching f below sequence before (0: from the newest),
// newest first.
func invoicesQuery(f InvoiceFilter, before uint64, limit int) (string, []any) {
	var where []string
	var args []any
	if f.Account != "" {
		where, args = append(where, "account = ?"), append(args, f.Account)
	}
	if f.CustomerID != "" {
		where, args = append(where, "customer_id = ?"), append(args, f.CustomerID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
		if f.Status != events.StatusProcessed && f.CustomerID == "" {
			where = append(where, "status <> 'processed'") // the partial index's own term
		}
	}
	if before != 0 {
		where, args = append(where, "seq < ?"), append(args, int64(before))
	}
	where, args = createdRange(where, args, f.CreatedAfter, f.CreatedBefore)
	q := selectInvoice
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return q + ` ORDER BY seq DESC LIMIT ?`, append(args, limit)
}

// createdRange adds to where and args the terms that keep invoices created
// strictly between after and before (either zero for no bound), and the
// range of seq that holds them, so a list reads that range and no more.
// created_max never falls as seq grows, and exceeds an invoice's own
// created_at by at most the largest lateness stored (created_max -
// created_at): every invoice created after after lies at or past the first
// whose created_max is past after, and every one created before before
// lies before the first whose created_max is at least before plus that
// lateness. Each end is one index lookup.
func createdRange(where []string, args []any, after, before time.Time) ([]string, []any) {
	if !after.IsZero() {
		a := unixNanos(after)
		where = append(where, `seq >= (SELECT seq FROM invoices WHERE created_max > ? ORDER BY created_max, seq LIMIT 1)`, "created_at > ?")
		args = append(args, a, a)
	}
	if !before.IsZero() {
		b := unixNanos(before)
		where = append(where, `seq < coalesce((SELECT seq FROM invoices
			WHERE created_max >= ? + (SELECT coalesce(max(created_max - created_at), 0) FROM invoices)
			ORDER BY created_max, seq LIMIT 1), 9223372036854775807)`, "created_at < ?")
		args = append(args, b, b)
	}
	return where, args
}

type scanner interface{ Scan(dest ...any) error }

func scanInvoice(row scanner) (Invoice, error) {
	var seq int64
	var requested, outcome []byte
	if err := row.Scan(&seq, &requested, &outcome); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Invoice{}, err
		}
		return Invoice{}, fmt.Errorf("read model: invoice: %w", err)
	}
	inv := Invoice{Seq: uint64(seq)}
	var err error
	if inv.Requested, err = events.Decode(requested); err != nil {
		return Invoice{}, fmt.Errorf("read model: invoice at %d: %w", seq, err)
	}
	if outcome != nil {
		ev, err := events.Decode(outcome)
		if err != nil {
			return Invoice{}, fmt.Errorf("read model: outcome of invoice at %d: %w", seq, err)
		}
		inv.Outcome = &ev
	}
	return inv, nil
}
