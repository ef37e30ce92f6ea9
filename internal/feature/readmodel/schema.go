package readmodel

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/invoiced/invoiced/events"
)

// schemaVersion is the layout this package writes. A file of an earlier
// version that migrations reach is migrated in place when it is opened, so
// it keeps what the history no longer holds; a file of any other version is
// emptied and built again from the history.
const schemaVersion = 5

// migrations bring a file of the version they are listed under to the
// next, each in one transaction.
var migrations = map[int]func(context.Context, *sql.Tx) error{3: addCreatedColumns, 4: fillOutcomes}

// schema creates the tables and indexes. Sequences are the ones of the
// streams the history copies from, so a list page is an index range and
// its cursor a sequence. Columns added since a table was first laid out
// come last, as ALTER TABLE adds them, so a migrated file and a new one
// have the same layout.
var schema = append([]string{
	`CREATE TABLE IF NOT EXISTS positions (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID`,
	// One row per invoice: seq is its InvoiceRequested's sequence on
	// INVOICES, account the one that owns it, requested and outcome the
	// events as stored there. created_at is the invoice's, in unix
	// nanoseconds; created_max the newest created_at of the invoices up
	// to this one in seq order, so it never falls as seq grows.
	`CREATE TABLE IF NOT EXISTS invoices (
		seq INTEGER PRIMARY KEY,
		id TEXT NOT NULL,
		account TEXT NOT NULL,
		customer_id TEXT NOT NULL,
		status TEXT NOT NULL,
		requested BLOB NOT NULL,
		outcome BLOB,
		created_at INTEGER NOT NULL DEFAULT 0,
		created_max INTEGER NOT NULL DEFAULT 0,
		outcome_seq INTEGER,
		outcome_at INTEGER,
		outcome_max INTEGER
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS invoices_id ON invoices(id)`,
	`CREATE INDEX IF NOT EXISTS invoices_customer ON invoices(customer_id, seq)`,
	`CREATE INDEX IF NOT EXISTS invoices_account ON invoices(account, seq)`,
	// Processed invoices are nearly all of them: a list of those scans the
	// table, and the index holds only the rest.
	`CREATE INDEX IF NOT EXISTS invoices_open ON invoices(status, seq) WHERE status <> 'processed'`,
	// A list by creation time is still a range of seq: these two find its
	// ends (see createdRange).
	`CREATE INDEX IF NOT EXISTS invoices_created_max ON invoices(created_max)`,
	`CREATE INDEX IF NOT EXISTS invoices_created_late ON invoices(created_max - created_at)`,
	// One row per delivery, its newest version: record is the
	// webhook.Delivery as JSON, version its webhook.Delivery.Version.
	`CREATE TABLE IF NOT EXISTS deliveries (
		id TEXT NOT NULL,
		account TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		subscription_id TEXT NOT NULL,
		event_type TEXT NOT NULL,
		status TEXT NOT NULL,
		version BLOB NOT NULL,
		record BLOB NOT NULL,
		invoice_id TEXT NOT NULL DEFAULT '',
		event_id TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS deliveries_id ON deliveries(id)`,
	`CREATE INDEX IF NOT EXISTS deliveries_created ON deliveries(created_at, id)`,
	`CREATE INDEX IF NOT EXISTS deliveries_account ON deliveries(account, created_at, id)`,
	`CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries(subscription_id, created_at, id)`,
	`CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries(status, created_at, id) WHERE status <> 'delivered'`,
	// An invoice's and an event's deliveries are a few among all of them.
	`CREATE INDEX IF NOT EXISTS deliveries_invoice ON deliveries(invoice_id, created_at, id)`,
	`CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries(event_id, created_at, id)`,
}, outcomesSchema...)

// outcomesSchema makes the indexes that list outcomes in the order of
// INVOICES, the events list's other half beside the requests (seq). Only
// outcomes are in them, each a write per invoice; fillOutcomes makes them
// too.
var outcomesSchema = []string{
	`CREATE INDEX IF NOT EXISTS invoices_outcomes ON invoices(account, outcome_seq) WHERE outcome_seq IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS invoices_outcome_seq ON invoices(outcome_seq) WHERE outcome_seq IS NOT NULL`,
}

// migrate brings a file of version to schemaVersion, a migration at a
// time. New tables and indexes are made by init, as for a new file. It
// fails, leaving the file at the last version it reached, when the
// database cannot be written or a stored event does not decode.
func (s *Store) migrate(ctx context.Context, version int) error {
	for ; version < schemaVersion; version++ {
		if err := s.migrateFrom(ctx, version); err != nil {
			return err
		}
	}
	return nil
}

// migrateFrom runs the migration of version in one transaction.
func (s *Store) migrateFrom(ctx context.Context, version int) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if err := migrations[version](ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, version+1)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// addCreatedColumns migrates version 3: the invoices' creation times and
// the deliveries' invoice and event IDs become columns, filled from the
// events and records stored.
func addCreatedColumns(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`ALTER TABLE invoices ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE invoices ADD COLUMN created_max INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE deliveries ADD COLUMN invoice_id TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE deliveries ADD COLUMN event_id TEXT NOT NULL DEFAULT ''`,
		// Every record was decoded before it was stored; json_valid guards
		// the statement against a damaged one all the same.
		`UPDATE deliveries SET
			invoice_id = CASE WHEN json_valid(CAST(record AS TEXT)) THEN coalesce(json_extract(CAST(record AS TEXT), '$.invoice_id'), '') ELSE '' END,
			event_id = CASE WHEN json_valid(CAST(record AS TEXT)) THEN coalesce(json_extract(CAST(record AS TEXT), '$.event_id'), '') ELSE '' END`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return fillCreated(ctx, tx)
}

// fillCreated sets every invoice's created_at and created_max from its
// stored request, in seq order, a batch at a time. It fails when the
// database cannot be read or written or a request does not decode.
func fillCreated(ctx context.Context, tx *sql.Tx) error {
	update, err := tx.PrepareContext(ctx, `UPDATE invoices SET created_at = ?, created_max = ? WHERE seq = ?`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer update.Close()
	type row struct{ seq, created int64 }
	after, newest := int64(0), int64(math.MinInt64)
	for {
		batch := make([]row, 0, 1000)
		rows, err := tx.QueryContext(ctx, `SELECT seq, requested FROM invoices WHERE seq > ? ORDER BY seq LIMIT 1000`, after)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for rows.Next() {
			var r row
			var requested []byte
			if err := rows.Scan(&r.seq, &requested); err != nil {
				rows.Close()
				return fmt.Errorf("migrate: %w", err)
			}
			ev, err := events.Decode(requested)
			if err != nil {
				rows.Close()
				return fmt.Errorf("migrate: invoice at %d: %w", r.seq, err)
			}
			r.created = unixNanos(ev.Invoice.CreatedAt)
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, r := range batch {
			newest = max(newest, r.created)
			if _, err := update.ExecContext(ctx, r.created, newest, r.seq); err != nil {
				return fmt.Errorf("migrate: invoice at %d: %w", r.seq, err)
			}
		}
		after = batch[len(batch)-1].seq
	}
}
