package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPacedLoadStartsEveryRequestItOwes(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		started     int64
		skipped     int
	}{
		{name: "keeps up", concurrency: 100, started: 50},
		{name: "behind", concurrency: 5, started: 5, skipped: 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Requests hold their slot until the pacing is over, so only
			// Concurrency of the 50 that are due can start.
			release := make(chan struct{})
			var started atomic.Int64
			one := func(time.Time) {
				started.Add(1)
				<-release
			}
			load := Load{Rate: 1000, Concurrency: tt.concurrency, Duration: 50 * time.Millisecond}
			var wg sync.WaitGroup
			skipped := startPaced(context.Background(), load, &wg, one)
			close(release)
			wg.Wait()
			if got := started.Load(); got != tt.started || skipped != tt.skipped {
				t.Fatalf("started %d, skipped %d; want %d and %d", got, skipped, tt.started, tt.skipped)
			}
		})
	}
}
