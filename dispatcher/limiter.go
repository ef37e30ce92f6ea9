package dispatcher

import (
	"sync"
	"time"
)

// limiter caps how many attempts one subscription has under way, and keeps
// a moving average of how long its attempts take.
type limiter struct {
	mu   sync.Mutex
	max  int
	busy map[string]int
	avg  map[string]time.Duration
}

func newLimiter(max int) *limiter {
	return &limiter{max: max, busy: map[string]int{}, avg: map[string]time.Duration{}}
}

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

// release gives a slot of key back after an attempt that took took.
func (l *limiter) release(key string, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[key]--; l.busy[key] <= 0 {
		delete(l.busy, key)
	}
	if prev, ok := l.avg[key]; ok {
		took = (4*prev + took) / 5
	}
	l.avg[key] = took
}

// typical returns the moving average duration of key's attempts, or
// fallback before the first.
func (l *limiter) typical(key string, fallback time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d, ok := l.avg[key]; ok {
		return d
	}
	return fallback
}
