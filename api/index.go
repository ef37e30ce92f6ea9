package api

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
)

// Index is the read model behind GET /invoices: for every invoice, the
// stream sequence of its InvoiceRequested event (the list order), its
// customer, its status and the sequence of its newest event. It holds no
// invoice bodies: a page is read back from the stream by sequence.
//
// It is built by applying the INVOICES stream in order (see Follow), so it
// can always be rebuilt from the stream: a restart rebuilds it.
type Index struct {
	mu         sync.RWMutex
	entries    []indexEntry        // ascending by requested sequence
	byID       map[uuid.UUID]int32 // position in entries
	byCustomer map[string][]int32  // positions, ascending
	applied    uint64              // newest stream sequence applied
	changed    chan struct{}       // closed and replaced on every apply
}

type indexEntry struct {
	requested uint64
	last      uint64
	customer  string
	status    events.Status
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		byID:       make(map[uuid.UUID]int32),
		byCustomer: make(map[string][]int32),
		changed:    make(chan struct{}),
	}
}

// Apply records the event stored at stream sequence seq under subject.
// Events must come in stream order; one already applied is ignored. It fails
// only for an undecodable InvoiceRequested event, which it skips.
func (x *Index) Apply(subject string, seq uint64, data []byte) error {
	id, typ, err := events.ParseSubject(subject)
	if err != nil {
		x.advance(seq)
		return nil // not an invoice event: nothing to index
	}
	key, err := uuid.Parse(id)
	if err != nil {
		x.advance(seq)
		return nil
	}
	var customer string
	if typ == events.InvoiceRequested {
		var ev struct {
			Invoice struct {
				CustomerID string `json:"customer_id"`
			} `json:"invoice"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			x.advance(seq)
			return fmt.Errorf("index event %d: %w", seq, err)
		}
		customer = ev.Invoice.CustomerID
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq <= x.applied {
		return nil
	}
	x.apply(key, typ, seq, customer)
	x.setApplied(seq)
	return nil
}

// apply updates the entries; the lock is held.
func (x *Index) apply(key uuid.UUID, typ events.Type, seq uint64, customer string) {
	pos, known := x.byID[key]
	if typ != events.InvoiceRequested {
		if known {
			e := &x.entries[pos]
			e.last = seq
			e.status = statusOf(typ)
		}
		return
	}
	if known {
		return
	}
	if same, ok := x.byCustomer[customer]; ok && len(same) > 0 {
		customer = x.entries[same[0]].customer // share one string per customer
	}
	pos = int32(len(x.entries))
	x.entries = append(x.entries, indexEntry{requested: seq, last: seq, customer: customer, status: events.StatusCreated})
	x.byID[key] = pos
	x.byCustomer[customer] = append(x.byCustomer[customer], pos)
}

func statusOf(t events.Type) events.Status {
	switch t {
	case events.InvoiceProcessed:
		return events.StatusProcessed
	case events.InvoiceFailed:
		return events.StatusFailed
	}
	return events.StatusCreated
}

func (x *Index) advance(seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq > x.applied {
		x.setApplied(seq)
	}
}

// setApplied moves the applied mark and wakes waiters; the lock is held.
func (x *Index) setApplied(seq uint64) {
	x.applied = seq
	close(x.changed)
	x.changed = make(chan struct{})
}

// WaitFor blocks until every event up to stream sequence seq is applied. It
// fails with ErrUnavailable when ctx ends first.
func (x *Index) WaitFor(ctx context.Context, seq uint64) error {
	for {
		x.mu.RLock()
		applied, changed := x.applied, x.changed
		x.mu.RUnlock()
		if applied >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: invoice list is catching up (at %d of %d)", ErrUnavailable, applied, seq)
		case <-changed:
		}
	}
}

// ListFilter selects invoices; empty fields match all.
type ListFilter struct {
	CustomerID string
	Status     events.Status
}

// Page returns, newest first, the newest-event sequences of up to limit
// invoices that match f and were requested before sequence before (0 for
// the newest), and the cursor for the next page: the requested sequence of
// the last one returned, or 0 when there are no more.
func (x *Index) Page(f ListFilter, before uint64, limit int) (lasts []uint64, next uint64) {
	if limit < 1 {
		limit = 1
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	n, at := len(x.entries), func(i int) *indexEntry { return &x.entries[i] }
	if f.CustomerID != "" {
		positions := x.byCustomer[f.CustomerID]
		n, at = len(positions), func(i int) *indexEntry { return &x.entries[positions[i]] }
	}
	start := n
	if before != 0 {
		start = sort.Search(n, func(i int) bool { return at(i).requested >= before })
	}
	for i := start - 1; i >= 0; i-- {
		e := at(i)
		if f.Status != "" && e.status != f.Status {
			continue
		}
		if len(lasts) == limit {
			return lasts, next
		}
		lasts, next = append(lasts, e.last), e.requested
	}
	return lasts, 0
}

// Applied returns the newest stream sequence the index has applied.
func (x *Index) Applied() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.applied
}
