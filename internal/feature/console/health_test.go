package console

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// countingLag is a LagReader whose one consumer's pending count is how
// many times it was read.
type countingLag struct{ reads atomic.Int64 }

func (c *countingLag) Lag(context.Context) []ConsumerLag {
	n := c.reads.Add(1)
	return []ConsumerLag{{Stream: "S", Name: "c", Pending: uint64(n)}}
}

func TestLagHistoryKeepsTheHighestOfEachMinute(t *testing.T) {
	times := minutes(3)
	h := newLagHistory(nil, time.Second, nil)
	sample := func(at time.Duration, lags ...ConsumerLag) {
		h.add(lagSample{at: chartStart.Add(at), lags: lags})
	}
	sample(-time.Minute, ConsumerLag{Stream: "S", Name: "a", Pending: 99}) // before the chart
	sample(10*time.Second, ConsumerLag{Stream: "S", Name: "a", Pending: 3, AckPending: 4}, ConsumerLag{Stream: "S", Name: "b", Error: "gone"})
	sample(50*time.Second, ConsumerLag{Stream: "S", Name: "a", Pending: 2}, ConsumerLag{Stream: "S", Name: "b", Pending: 1})
	sample(150*time.Second, ConsumerLag{Stream: "S", Name: "a"}, ConsumerLag{Stream: "S", Name: "b", AckPending: 5})
	got := h.series(times)
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("series %+v", got)
	}
	want := [][]float64{{7, math.NaN(), 0}, {1, math.NaN(), 5}}
	for s := range want {
		for i, w := range want[s] {
			if g := got[s].Values[i]; g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Errorf("%s minute %d: %g, want %g", got[s].Name, i, g, w)
			}
		}
	}
	for range 2 * lagSamples {
		sample(time.Minute, ConsumerLag{Stream: "S", Name: "a", Pending: 1})
	}
	if len(h.samples) != lagSamples {
		t.Fatalf("%d samples kept", len(h.samples))
	}
	if got := h.series(times); !math.IsNaN(got[0].Values[0]) || got[0].Values[1] != 1 || !math.IsNaN(got[0].Values[2]) {
		t.Fatalf("after the ring turned: %v", got[0].Values)
	}
}

func TestLagHistorySamplesUntilStopped(t *testing.T) {
	src := &countingLag{}
	h := newLagHistory(src, 100*time.Millisecond, time.Now)
	h.start()
	h.start() // a second start changes nothing
	natstest.Eventually(t, 10*time.Second, "three samples", func() bool { return src.reads.Load() >= 3 })
	h.stop()
	after := src.reads.Load()
	h.mu.Lock()
	kept := len(h.samples)
	h.mu.Unlock()
	if kept < 2 || kept > int(after) {
		t.Fatalf("%d samples kept of %d read", kept, after)
	}
	select {
	case <-h.done:
	default:
		t.Fatal("the sampler runs on after stop")
	}
	newLagHistory(nil, time.Second, time.Now).stop() // never started
}
