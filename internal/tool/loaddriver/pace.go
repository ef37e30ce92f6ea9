package loaddriver

import (
	"context"
	"sync"
	"time"
)

// pace is an open loop's schedule: request n is due at start + n/rate,
// until deadline (none when zero), with at most slots in flight.
type pace struct {
	rate     float64
	slots    int
	start    time.Time
	deadline time.Time
}

// startPaced starts one request every 1/rate seconds, each in its own
// goroutine counted in wg and given the time it was due, skipping those
// due while every slot is taken. It returns, with how many it skipped,
// once the last is due, stop is closed or ctx ends.
func startPaced(ctx context.Context, stop <-chan struct{}, p pace, wg *sync.WaitGroup, one func(due time.Time)) (skipped int) {
	slots := make(chan struct{}, max(p.slots, 1))
	interval := time.Duration(float64(time.Second) / p.rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	// Each request has its own due time, so a loop that falls behind (a
	// busy machine) starts the requests it owes at once instead of losing
	// them, as a ticker's dropped ticks would.
	for n := 0; running(ctx, stop, time.Time{}); n++ {
		due := p.start.Add(time.Duration(n) * interval)
		if !p.deadline.IsZero() && !due.Before(p.deadline) {
			return skipped
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C: // pacing the load
			case <-stop:
				return skipped
			case <-ctx.Done():
				return skipped
			}
		}
		select {
		case slots <- struct{}{}:
		default:
			skipped++ // every slot is taken: the service is behind
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			one(due)
		})
	}
	return skipped
}
