package readmodel

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/history"
)

// change is one message to apply: message historySeq of history segment
// segment (historySeq > 0), a live delivery record from its bucket, or a
// message of a stream the history copies from that the history will never
// copy (historySeq 0, origin set, bad set).
type change struct {
	segment    int
	historySeq uint64
	stored     time.Time // when the history stored it
	origin     history.Origin
	data       []byte
	key        string // a live record's key, and its revision
	rev        uint64
	bad        error // why it is known to be none of ours before it is read
}

// apply applies changes in one transaction, with the positions they reach,
// and returns those positions and the messages it passed over. It fails
// only when the database cannot be written; then nothing is applied.
func (s *Store) apply(ctx context.Context, changes []change) (map[string]uint64, []history.Skipped, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read model: %w", err)
	}
	defer tx.Rollback()
	w := s.writer.in(ctx, tx)
	defer w.close()
	w.tally = s.activity.tally()
	moved := map[string]uint64{}
	var skips []history.Skipped
	for _, c := range changes {
		if c.historySeq > 0 {
			moved[HistoryPosition] = HistoryAt(c.segment, c.historySeq)
		}
		if c.origin.Stream != "" && c.origin.Seq <= max(moved[c.origin.Stream], s.Position(c.origin.Stream)) {
			continue // the end of the segment before copied again, or passed before
		}
		err := c.bad
		if err == nil {
			err = w.change(ctx, c)
		}
		var skip skipError
		switch {
		case c.bad != nil || errors.As(err, &skip):
			skips = append(skips, c.skipped(err))
		case err != nil:
			return nil, nil, err
		}
		if c.origin.Stream != "" {
			moved[c.origin.Stream] = max(moved[c.origin.Stream], c.origin.Seq)
		}
	}
	s.markSynced(changes, moved)
	for name, seq := range moved {
		if _, err := w.position.ExecContext(ctx, name, int64(seq)); err != nil {
			return nil, nil, fmt.Errorf("read model: position: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("read model: commit: %w", err)
	}
	s.activity.add(w.tally)
	return moved, skips, nil
}

// mark is a history position applied, and when the history stored the
// copy there.
type mark struct {
	at     uint64
	stored time.Time
}

// markSynced remembers the last history copy of changes and, into moved,
// moves the synced position to the newest copy remembered that was stored
// at least historySyncedAfter ago. Only the writer calls it.
func (s *Store) markSynced(changes []change, moved map[string]uint64) {
	for i := len(changes) - 1; i >= 0; i-- {
		if c := changes[i]; c.historySeq > 0 {
			s.recent = append(s.recent, mark{at: HistoryAt(c.segment, c.historySeq), stored: c.stored})
			break
		}
	}
	synced := time.Now().Add(-historySyncedAfter)
	n := 0
	for n < len(s.recent) && !s.recent[n].stored.After(synced) {
		moved[historySynced] = s.recent[n].at
		n++
	}
	s.recent = append(s.recent[:0], s.recent[n:]...)
}

// skipped returns c, passed over for err, as its readers' log names it: by
// its origin, or by where the history or the bucket holds it.
func (c change) skipped(err error) history.Skipped {
	switch {
	case c.origin.Stream != "":
		return history.Skipped{Stream: c.origin.Stream, Seq: c.origin.Seq, Subject: c.origin.Subject, Err: err}
	case c.historySeq > 0:
		return history.Skipped{Stream: history.SegmentName(c.segment), Seq: c.historySeq, Err: err}
	}
	return history.Skipped{Stream: webhook.LiveStream, Seq: c.rev, Subject: webhook.LiveSubject(c.key), Err: err}
}

// skipError marks a message that cannot be read as what it claims to be.
type skipError struct{ err error }

func (e skipError) Error() string { return e.err.Error() }
func (e skipError) Unwrap() error { return e.err }

// writer holds the statements that apply changes: prepared once on the
// writing connection, since parsing them for every transaction cost a
// third of applying a change. Within a transaction, its tally gathers what
// the Activity counts once the transaction commits.
type writer struct {
	request, outcome, delivery, stored, position *sql.Stmt
	tally                                        *tally
}

// prepareWriter prepares the writer's statements on db. It fails when a
// statement does not compile against the schema.
func prepareWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	w := &writer{}
	for _, st := range []struct {
		dst  **sql.Stmt
		text string
	}{
		// Requests come in seq order, so the one before is the newest.
		{&w.request, `INSERT INTO invoices(seq, id, account, customer_id, status, requested, created_at, created_max)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, max(?7, coalesce((SELECT created_max FROM invoices WHERE seq < ?1 ORDER BY seq DESC LIMIT 1), ?7)))
			ON CONFLICT DO NOTHING`},
		{&w.outcome, setOutcome},
		{&w.delivery, `INSERT INTO deliveries(id, account, created_at, subscription_id, event_type, status, version, record, invoice_id, event_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET account = excluded.account, created_at = excluded.created_at, subscription_id = excluded.subscription_id,
				event_type = excluded.event_type, status = excluded.status, version = excluded.version, record = excluded.record,
				invoice_id = excluded.invoice_id, event_id = excluded.event_id
			WHERE excluded.version > deliveries.version`},
		{&w.stored, `SELECT version, status FROM deliveries WHERE id = ?`},
		{&w.position, `INSERT INTO positions(name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = max(seq, excluded.seq)`},
	} {
		p, err := db.PrepareContext(ctx, st.text)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("read model: prepare: %w", err)
		}
		*st.dst = p
	}
	return w, nil
}

// in returns the writer's statements within tx; closing them leaves w's
// open.
func (w *writer) in(ctx context.Context, tx *sql.Tx) *writer {
	return &writer{request: tx.StmtContext(ctx, w.request), outcome: tx.StmtContext(ctx, w.outcome),
		delivery: tx.StmtContext(ctx, w.delivery), stored: tx.StmtContext(ctx, w.stored), position: tx.StmtContext(ctx, w.position)}
}

func (w *writer) close() {
	for _, st := range []*sql.Stmt{w.request, w.outcome, w.delivery, w.stored, w.position} {
		if st != nil {
			st.Close()
		}
	}
}

// change applies one message; a skipError says it was none of ours.
func (w *writer) change(ctx context.Context, c change) error {
	if c.historySeq > 0 && c.origin.Stream == events.StreamInvoices {
		return w.invoiceEvent(ctx, c)
	}
	return w.record(ctx, c)
}

// invoiceEvent applies one invoice event: a request adds the invoice, once;
// an outcome completes it, once, at its place on INVOICES.
func (w *writer) invoiceEvent(ctx context.Context, c change) error {
	ev, err := events.DecodeMsg(c.origin.Subject, c.data)
	if err != nil {
		return skipError{err}
	}
	inv := ev.Invoice
	var res sql.Result
	if ev.Type == events.InvoiceRequested {
		res, err = w.request.ExecContext(ctx, int64(c.origin.Seq), inv.ID, ev.Account(), inv.CustomerID, string(inv.Status), c.data,
			unixNanos(inv.CreatedAt))
	} else {
		res, err = w.outcome.ExecContext(ctx, string(inv.Status), c.data, int64(c.origin.Seq), unixNanos(ev.Time), inv.ID)
	}
	if err != nil {
		return fmt.Errorf("read model: invoice %s: %w", inv.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		w.tally.invoice(ev)
	}
	return nil
}

// record applies one version of a delivery record, unless a later version
// is stored.
func (w *writer) record(ctx context.Context, c change) error {
	d, err := c.delivery()
	if err != nil {
		return skipError{err}
	}
	before, was, err := w.storedOf(ctx, d)
	if err != nil {
		return err
	}
	res, err := w.delivery.ExecContext(ctx, d.ID, d.Owner(), unixNanos(d.CreatedAt), d.SubscriptionID, d.EventType, d.Status, d.Version(), c.data,
		d.InvoiceID, d.EventID)
	if err != nil {
		return fmt.Errorf("read model: delivery %s: %w", d.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		w.tally.delivery(d, before, was)
	}
	return nil
}

// storedOf returns how many attempts the stored version of d holds, and
// its status, for the tally to count only what d adds; nothing is read
// when d has nothing to count. It fails when the database cannot be read.
func (w *writer) storedOf(ctx context.Context, d webhook.Delivery) (int, string, error) {
	if len(d.Attempts) == 0 && d.Status != webhook.DeliveryDead {
		return 0, "", nil
	}
	var version []byte
	var status string
	err := w.stored.QueryRowContext(ctx, d.ID).Scan(&version, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, "", nil
	case err != nil:
		return 0, "", fmt.Errorf("read model: delivery %s: %w", d.ID, err)
	case len(version) < 2:
		return 0, status, nil
	}
	// A version begins with its attempts' count (webhook.Delivery.Version).
	return int(binary.BigEndian.Uint16(version)), status, nil
}

// delivery decodes the delivery record c carries. It fails when c is none:
// not a record, one without a delivery ID (a UUID, the only IDs the API
// can name) or a known status, or one stored where another delivery's
// belongs.
func (c change) delivery() (webhook.Delivery, error) {
	var d webhook.Delivery
	if err := json.Unmarshal(c.data, &d); err != nil {
		return d, fmt.Errorf("delivery record: %w", err)
	}
	if id, err := uuid.Parse(d.ID); err != nil || id.String() != d.ID {
		return d, fmt.Errorf("delivery record with ID %.40q", d.ID)
	}
	if !slices.Contains(webhook.DeliveryStatuses, d.Status) {
		return d, fmt.Errorf("delivery record %s with status %.40q", d.ID, d.Status)
	}
	if c.historySeq == 0 && c.key != d.ID {
		return d, fmt.Errorf("delivery record %s under key %.40q", d.ID, c.key)
	}
	if c.historySeq > 0 && c.origin.Subject != webhook.DoneSubject(d.SubscriptionID, d.ID) {
		return d, fmt.Errorf("delivery record %s of subscription %.40q on another's subject", d.ID, d.SubscriptionID)
	}
	return d, nil
}

// unixNanos returns t in unix nanoseconds, clamped to what an int64 holds.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}
