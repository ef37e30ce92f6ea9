// Package bench measures an invoiced service under load: POST /invoices
// driven by internal/tool/loaddriver, every webhook verified and its arrival
// recorded by internal/tool/webhookrecv, the floor a bare handler reaches on
// the same machine, and how the service fares as its history grows.
package bench

import (
	"slices"
	"sync"
	"time"
)

// Latencies collects durations from many goroutines.
type Latencies struct {
	mu sync.Mutex
	ds []time.Duration
}

// Add records one duration.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
}

// Len returns how many durations were recorded.
func (l *Latencies) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ds)
}

// Percentile returns the p-th percentile (0 < p ≤ 100) in milliseconds,
// 0 when nothing was recorded.
func (l *Latencies) Percentile(p float64) float64 {
	l.mu.Lock()
	ds := slices.Clone(l.ds)
	l.mu.Unlock()
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds))*p/100+0.5) - 1
	i = min(max(i, 0), len(ds)-1)
	return float64(ds[i].Microseconds()) / 1000
}
