// Package readmodel keeps the api role's read models on disk: every
// invoice and every delivery ever made, indexed for the API's lists, in a
// SQLite database inside --data. It is built by applying the history's
// segments in order, with the position applied stored in the same
// transaction, so a restart resumes where it stopped and a lost or damaged
// file is rebuilt from the history. The live deliveries come from their
// bucket, watched.
//
// Memory stays flat however much history the file holds: SQLite reads and
// writes pages through a bounded cache, not a memory map, and nothing is
// kept per invoice or per delivery in the process.
package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/internal/infra/filelock"
	"github.com/invoiced/invoiced/internal/infra/history"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// FileName is the database's name inside the data directory.
const FileName = "readmodel.db"

// Store is the read model database. Reads may run concurrently; changes
// are made by one writer, the Follower.
type Store struct {
	path string
	lock *os.File // held while open: one process per file
	w    *sql.DB  // the one writing connection
	r    *sql.DB  // reading connections

	writer     *writer   // prepared on w
	getInvoice *sql.Stmt // prepared on r

	activity *Activity // counts what apply applies

	waiting atomic.Int32  // WaitFor calls waiting for a commit
	wanted  chan struct{} // signalled when one begins to wait

	mu        sync.Mutex
	positions map[string]uint64
	recent    []mark        // history copies applied lately, oldest first (see markSynced)
	changed   chan struct{} // closed and replaced when positions move
}

// Open opens the database at path, creating it when it does not exist and
// starting it afresh when it was written by another version of this
// package. It fails when the file cannot be opened or created, or another
// process has it open.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	held, err := filelock.Lock(path + ".lock")
	switch {
	case errors.Is(err, filelock.ErrHeld):
		return nil, fmt.Errorf("read model %s is in use by another invoiced process; give each api process a --data of its own", path)
	case err != nil:
		return nil, fmt.Errorf("read model: %w", err)
	}
	s := &Store{path: path, lock: held, positions: map[string]uint64{}, changed: make(chan struct{}), wanted: make(chan struct{}, 1),
		activity: newActivity(time.Now, maxActivitySubscriptions, maxActivityAccounts)}
	if s.w, err = openDB(path, 1, "_txlock=immediate"); err != nil {
		held.Close()
		return nil, err
	}
	if s.r, err = openDB(path, 4, "_pragma=query_only(1)"); err != nil {
		s.w.Close()
		held.Close()
		return nil, err
	}
	if err := s.init(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens one pool of connections to path.
func openDB(path string, conns int, extra string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "cache_size(-8000)", "mmap_size(0)"} {
		q.Add("_pragma", p)
	}
	dsn := "file:" + path + "?" + q.Encode() + "&" + extra
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// init checks the layout version, migrates a file of the previous one,
// creates the schema and loads the positions.
func (s *Store) init() error {
	ctx := context.Background()
	var version int
	if err := s.w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read model %s: %w", s.path, err)
	}
	switch {
	case version == 0 || version == schemaVersion:
	case migrations[version] != nil:
		if err := s.migrate(ctx, version); err != nil {
			return fmt.Errorf("read model %s: %w", s.path, err)
		}
	default:
		if err := s.reset(ctx); err != nil {
			return err
		}
	}
	for _, stmt := range schema {
		if _, err := s.w.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("read model %s: %w", s.path, err)
		}
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("read model %s: %w", s.path, err)
	}
	var err error
	if s.writer, err = prepareWriter(ctx, s.w); err != nil {
		return err
	}
	if s.getInvoice, err = s.r.PrepareContext(ctx, selectInvoice+` WHERE id = ?`); err != nil {
		return fmt.Errorf("read model: prepare: %w", err)
	}
	return s.loadPositions(ctx)
}

// reset drops every table of an older layout.
func (s *Store) reset(ctx context.Context) error {
	for _, table := range []string{"positions", "invoices", "deliveries"} {
		if _, err := s.w.ExecContext(ctx, `DROP TABLE IF EXISTS `+table); err != nil {
			return fmt.Errorf("read model %s: %w", s.path, err)
		}
	}
	return nil
}

// Positions the store keeps besides those of the streams the history
// copies from.
const (
	// HistoryPosition is how far the history is applied, as HistoryAt
	// packs it.
	HistoryPosition = "history"
	// historySegmentCreated is when the segment the store is in was
	// created, in unix nanoseconds: which history the store was built from.
	historySegmentCreated = "history segment created"
	// historySynced is how far the history is applied up to a copy stored
	// at least historySyncedAfter before it was applied: a copy that a
	// segment written without a sync per message surely had on disk.
	historySynced = "history synced"
)

// historySyncedAfter is how long after storing a copy a history segment
// written without a sync per message surely has it on disk: well past the
// server's sync interval (broker.HistorySyncInterval, 2 s). A variable for
// tests.
var historySyncedAfter = 5 * time.Second

// segmentBits is how many low bits of a history position hold the
// sequence within its segment.
const segmentBits = 44

// HistoryAt returns the history position of message seq of segment n: one
// number that grows along the history, across segments.
func HistoryAt(n int, seq uint64) uint64 { return uint64(n)<<segmentBits | seq }

// splitHistoryAt returns the segment and sequence of a history position.
func splitHistoryAt(at uint64) (int, uint64) {
	return int(at >> segmentBits), at & (1<<segmentBits - 1)
}

// historyPlace returns where the store is in the history: the segment,
// the sequence in it applied, and when that segment was created (unix
// nanoseconds). A store that never followed a history is in segment 0.
func (s *Store) historyPlace() (int, uint64, int64) {
	n, seq := splitHistoryAt(s.Position(HistoryPosition))
	return n, seq, int64(s.Position(historySegmentCreated))
}

// enterSegment moves the store to the start of segment n, created at
// created; with restart, it is emptied first, to be built again from
// there. It fails when the database cannot be written.
func (s *Store) enterSegment(ctx context.Context, n int, created int64, restart bool) error {
	at := map[string]uint64{HistoryPosition: HistoryAt(n, 0), historySegmentCreated: uint64(created)}
	if restart {
		return s.empty(ctx, at)
	}
	return s.setPositions(ctx, at)
}

// Empty removes every invoice, delivery and position, so the next Follow
// builds the store again from the start of the history. It fails when the
// database cannot be written.
func (s *Store) Empty(ctx context.Context) error { return s.empty(ctx, map[string]uint64{}) }

// empty removes every row and sets the positions to keep.
func (s *Store) empty(ctx context.Context, keep map[string]uint64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("read model: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range []string{`DELETE FROM invoices`, `DELETE FROM deliveries`, `DELETE FROM positions`} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("read model: %w", err)
		}
	}
	for name, seq := range keep {
		if _, err := tx.ExecContext(ctx, `INSERT INTO positions(name, seq) VALUES (?, ?)`, name, int64(seq)); err != nil {
			return fmt.Errorf("read model: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("read model: %w", err)
	}
	s.mu.Lock()
	s.positions = keep
	s.mu.Unlock()
	s.recent = nil
	return nil
}

// setPositions writes positions and wakes waiters. It fails when the
// database cannot be written.
func (s *Store) setPositions(ctx context.Context, positions map[string]uint64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("read model: %w", err)
	}
	defer tx.Rollback()
	for name, seq := range positions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO positions(name, seq) VALUES (?, ?)
			ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`, name, int64(seq)); err != nil {
			return fmt.Errorf("read model: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("read model: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, seq := range positions {
		s.positions[name] = seq
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (s *Store) loadPositions(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT name, seq FROM positions`)
	if err != nil {
		return fmt.Errorf("read model %s: %w", s.path, err)
	}
	defer rows.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for rows.Next() {
		var name string
		var seq uint64
		if err := rows.Scan(&name, &seq); err != nil {
			return fmt.Errorf("read model %s: %w", s.path, err)
		}
		s.positions[name] = seq
	}
	return rows.Err()
}

// Close closes the database.
func (s *Store) Close() error {
	if s.writer != nil {
		s.writer.close()
	}
	if s.getInvoice != nil {
		s.getInvoice.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close(), s.lock.Close())
}

// Activity returns the counts per minute of what the store has applied
// since it was opened.
func (s *Store) Activity() *Activity { return s.activity }

// Path returns the database's file.
func (s *Store) Path() string { return s.path }

// Position returns the newest sequence of stream whose messages have all
// been applied: the name of a stream the history copies from, or
// HistoryPosition for the history itself.
func (s *Store) Position(stream string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.positions[stream]
}

// WaitFor blocks until every message of stream up to seq is applied; the
// Follower commits what it has gathered at once while anyone waits. It
// fails with ctx's error when ctx ends first.
func (s *Store) WaitFor(ctx context.Context, stream string, seq uint64) error {
	registered := false
	for {
		s.mu.Lock()
		at, changed := s.positions[stream], s.changed
		s.mu.Unlock()
		if at >= seq {
			return nil
		}
		if !registered {
			registered = true
			s.waiting.Add(1)
			defer s.waiting.Add(-1)
			select {
			case s.wanted <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("read model at %d of %s, waiting for %d: %w", at, stream, seq, ctx.Err())
		case <-changed:
		}
	}
}

// awaited reports whether a reader waits in WaitFor.
func (s *Store) awaited() bool { return s.waiting.Load() > 0 }

// advance records positions committed to the file and wakes waiters.
func (s *Store) advance(moved map[string]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, seq := range moved {
		s.positions[name] = max(s.positions[name], seq)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// rewind moves the history position back to at, to read again what
// follows it.
func (s *Store) rewind(at uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.positions[HistoryPosition] = at
}

// HistoryApplied returns the history segment, and the sequence in it, up to
// which the history is applied.
func (s *Store) HistoryApplied() (string, uint64) {
	n, seq := splitHistoryAt(s.Position(HistoryPosition))
	return history.SegmentName(n), seq
}
