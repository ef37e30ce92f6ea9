package dispatcher

import (
	"context"
	"sync"
	"time"
)

// limiter caps how many attempts one subscription has under way, and keeps
// a moving average of how long its attempts take.
type limiter struct {
	mu    sync.Mutex
	max   int
	busy  map[string]int
	avg   map[string]time.Duration
	freed map[string]chan struct{} // closed when a slot of the key is given back
	wait  map[string]int           // callers waiting for a slot of the key
}

func newLimiter(max int) *limiter {
	return &limiter{max: max, busy: map[string]int{}, avg: map[string]time.Duration{},
		freed: map[string]chan struct{}{}, wait: map[string]int{}}
}

// acquire takes a slot for key, reporting false when all are taken.
func (l *limiter) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.takeLocked(key)
}

func (l *limiter) takeLocked(key string) bool {
	if l.busy[key] >= l.max {
		return false
	}
	l.busy[key]++
	return true
}

// maxWaiters returns how many callers may wait for a slot of one key: a
// quarter of its slots, so an endpoint that turns slow while its average
// still looks fast ties up a bounded number of waiting workers.
func (l *limiter) maxWaiters() int { return max(1, l.max/4) }

// acquireWithin takes a slot for key, waiting up to wait for one to be
// given back when all are taken. It reports false at once when maxWaiters
// callers wait already, and when no slot came in time or ctx ended.
func (l *limiter) acquireWithin(ctx context.Context, key string, wait time.Duration) bool {
	if wait <= 0 {
		return l.acquire(key)
	}
	l.mu.Lock()
	if l.takeLocked(key) {
		l.mu.Unlock()
		return true
	}
	if l.wait[key] >= l.maxWaiters() {
		l.mu.Unlock()
		return false
	}
	l.wait[key]++
	l.mu.Unlock()
	defer l.stopWaiting(key)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		l.mu.Lock()
		if l.takeLocked(key) {
			l.mu.Unlock()
			return true
		}
		ch, ok := l.freed[key]
		if !ok {
			ch = make(chan struct{})
			l.freed[key] = ch
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

func (l *limiter) stopWaiting(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wait[key]--; l.wait[key] <= 0 {
		delete(l.wait, key)
	}
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
	if ch, ok := l.freed[key]; ok {
		close(ch)
		delete(l.freed, key)
	}
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
