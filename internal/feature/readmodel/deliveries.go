package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// Delivery returns delivery id, its newest version. It fails with
// ErrNotFound when the read model holds no such delivery, and when the
// database cannot be read.
func (s *Store) Delivery(ctx context.Context, id string) (webhook.Delivery, error) {
	var record []byte
	err := s.r.QueryRowContext(ctx, `SELECT record FROM deliveries WHERE id = ?`, id).Scan(&record)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return webhook.Delivery{}, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	case err != nil:
		return webhook.Delivery{}, fmt.Errorf("read model: delivery %s: %w", id, err)
	}
	return decodeDelivery(record)
}

// DeliveryFilter selects deliveries; empty fields match all.
type DeliveryFilter struct {
	// Account keeps the deliveries one account owns.
	Account        string
	Status         string
	SubscriptionID string
	EventType      string
	// InvoiceID and EventID keep the deliveries of one invoice, and of
	// one event.
	InvoiceID, EventID string
	// Since keeps deliveries created at or after it.
	Since time.Time
	// CreatedAfter and CreatedBefore, when not zero, keep the deliveries
	// created strictly after and strictly before them.
	CreatedAfter, CreatedBefore time.Time
}

// DeliveryCursor is a place in the delivery order, newest first by
// creation time and then ID: a page continues with the deliveries that sort
// after it. The zero cursor is the start.
type DeliveryCursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether c is the start of the list.
func (c DeliveryCursor) IsZero() bool { return c.ID == "" }

// Deliveries returns, newest first, up to limit deliveries that match f
// and sort after the cursor after, and the cursor of the next page: the
// last one returned, or the zero cursor when there are no more. It fails
// when the database cannot be read.
func (s *Store) Deliveries(ctx context.Context, f DeliveryFilter, after DeliveryCursor, limit int) ([]webhook.Delivery, DeliveryCursor, error) {
	limit = max(limit, 1)
	q, args := deliveriesQuery(f, after, limit+1)
	out, err := s.queryDeliveries(ctx, q, args...)
	if err != nil || len(out) <= limit {
		return out, DeliveryCursor{}, err
	}
	out = out[:limit]
	last := out[limit-1]
	return out, DeliveryCursor{CreatedAt: last.CreatedAt, ID: last.ID}, nil
}

// deliveriesQuery returns the statement, and its arguments, that reads up
// to limit records matching f that sort after the cursor after, newest
// first.
func deliveriesQuery(f DeliveryFilter, after DeliveryCursor, limit int) (string, []any) {
	where, args := f.where()
	if !after.IsZero() {
		where, args = append(where, "(created_at, id) < (?, ?)"), append(args, unixNanos(after.CreatedAt), after.ID)
	}
	q := `SELECT record FROM deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return q + ` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit)
}

// CountDeliveries returns how many deliveries match f. It fails when the
// database cannot be read.
func (s *Store) CountDeliveries(ctx context.Context, f DeliveryFilter) (int, error) {
	where, args := f.where()
	q := `SELECT count(*) FROM deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	var n int
	if err := s.r.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("read model: count deliveries: %w", err)
	}
	return n, nil
}

// where returns the conditions and arguments that select f. An invoice's
// or an event's deliveries are few, so when f names one, its index is the
// one read: the other columns' terms are written (+column) so that SQLite,
// which has no statistics to weigh one index against another, does not
// read theirs instead.
func (f DeliveryFilter) where() ([]string, []any) {
	var where []string
	var args []any
	other := ""
	switch {
	case f.EventID != "":
		where, args, other = append(where, "event_id = ?"), append(args, f.EventID), "+"
		if f.InvoiceID != "" {
			where, args = append(where, "+invoice_id = ?"), append(args, f.InvoiceID)
		}
	case f.InvoiceID != "":
		where, args, other = append(where, "invoice_id = ?"), append(args, f.InvoiceID), "+"
	}
	if f.Status != "" {
		where, args = append(where, other+"status = ?"), append(args, f.Status)
		if f.Status != webhook.DeliveryDelivered && other == "" {
			where = append(where, "status <> 'delivered'") // the partial index's own term
		}
	}
	if f.SubscriptionID != "" {
		where, args = append(where, other+"subscription_id = ?"), append(args, f.SubscriptionID)
	}
	if f.Account != "" {
		where, args = append(where, other+"account = ?"), append(args, f.Account)
	}
	if f.EventType != "" {
		where, args = append(where, "event_type = ?"), append(args, f.EventType)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, unixNanos(f.Since))
	}
	if !f.CreatedAfter.IsZero() {
		where, args = append(where, "created_at > ?"), append(args, unixNanos(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, unixNanos(f.CreatedBefore))
	}
	return where, args
}

func (s *Store) queryDeliveries(ctx context.Context, q string, args ...any) ([]webhook.Delivery, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read model: deliveries: %w", err)
	}
	defer rows.Close()
	var out []webhook.Delivery
	for rows.Next() {
		var record []byte
		if err := rows.Scan(&record); err != nil {
			return nil, fmt.Errorf("read model: deliveries: %w", err)
		}
		d, err := decodeDelivery(record)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read model: deliveries: %w", err)
	}
	return out, nil
}

func decodeDelivery(record []byte) (webhook.Delivery, error) {
	var d webhook.Delivery
	if err := json.Unmarshal(record, &d); err != nil {
		return webhook.Delivery{}, fmt.Errorf("read model: delivery record: %w", err)
	}
	return d, nil
}

// RecentOutcomes returns, of the newest n deliveries to subscription that
// are no longer pending, how many were delivered and how many there are
// (fewer than n for a young subscription). It fails when the database
// cannot be read.
func (s *Store) RecentOutcomes(ctx context.Context, subscription string, n int) (delivered, counted int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT coalesce(sum(status = ?), 0), count(*) FROM (
		SELECT status FROM deliveries WHERE subscription_id = ? AND status <> ?
		ORDER BY created_at DESC, id DESC LIMIT ?)`,
		webhook.DeliveryDelivered, subscription, webhook.DeliveryPending, n).Scan(&delivered, &counted)
	if err != nil {
		return 0, 0, fmt.Errorf("read model: recent outcomes of %s: %w", subscription, err)
	}
	return delivered, counted, nil
}
