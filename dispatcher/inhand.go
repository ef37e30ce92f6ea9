package dispatcher

import (
	"context"
	"sync"
	"time"
)

// maxOrderWait bounds how long an outcome waits in memory for the handling
// of its invoice.created here to end: its attempt, then its record and
// settlement, each a disk write.
const maxOrderWait = 250 * time.Millisecond

// orderWait returns how long an outcome at subscription subID waits in
// memory for its invoice.created's handling here: up to maxOrderWait at a
// fast endpoint, whose slots are waited for too (see slotWait), and not at
// all at a slow one or before its first attempt, where it is held.
func (d *Dispatcher) orderWait(subID string) time.Duration {
	if d.slotWait(subID) == 0 {
		return 0
	}
	return maxOrderWait
}

// inHand tracks the deliveries a worker of this process is handling now,
// so that an outcome ordered behind one of them can wait for it in memory:
// an invoice's two events are fanned out moments apart, and holding the
// outcome through JetStream costs a pending record, a schedule and a fired
// task, each a disk write.
type inHand struct {
	mu      sync.Mutex
	ended   map[string]chan struct{} // by delivery ID, closed when its handling ends
	waiting int
	max     int // workers waiting at once
}

func newInHand(maxWaiting int) *inHand {
	return &inHand{ended: map[string]chan struct{}{}, max: max(1, maxWaiting)}
}

// begin marks delivery id in hand and returns what marks its handling
// ended. While id is in hand already (its task redelivered meanwhile), the
// second begin's end does nothing.
func (h *inHand) begin(id string) (end func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.ended[id]; ok {
		return func() {}
	}
	ch := make(chan struct{})
	h.ended[id] = ch
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.ended, id)
		close(ch)
	}
}

// waitFor waits up to wait for the handling of delivery id in this process
// to end and reports whether it did. It reports false at once when id is
// not in hand, wait is not positive, or max workers wait already.
func (h *inHand) waitFor(ctx context.Context, id string, wait time.Duration) bool {
	h.mu.Lock()
	ch, ok := h.ended[id]
	if !ok || wait <= 0 || h.waiting >= h.max {
		h.mu.Unlock()
		return false
	}
	h.waiting++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.waiting--
		h.mu.Unlock()
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ch:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}
