package dispatcher

import "sync"

// limiter caps how many attempts one subscription has under way.
type limiter struct {
	mu   sync.Mutex
	max  int
	busy map[string]int
}

func newLimiter(max int) *limiter { return &limiter{max: max, busy: map[string]int{}} }

// acquire takes a slot for key, reporting false when all are taken.
func (l *limiter) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[key] >= l.max {
		return false
	}
	l.busy[key]++
	return true
}

// release gives a slot of key back.
func (l *limiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[key]--; l.busy[key] <= 0 {
		delete(l.busy, key)
	}
}
