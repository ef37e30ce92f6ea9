package console

import (
	"context"
	"math"
	"sync"
	"time"
)

// lagSamples bounds the samples kept: an hour at the default interval.
const lagSamples = 240

// lagSample is the consumers' lag read at one time.
type lagSample struct {
	at   time.Time
	lags []ConsumerLag
}

// lagHistory samples the consumers' lag at an interval into a ring of the
// last lagSamples samples, between Start and Stop.
type lagHistory struct {
	src   LagReader
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	samples []lagSample // a ring; next is the slot written next
	next    int

	cancel context.CancelFunc
	done   chan struct{}
}

func newLagHistory(src LagReader, every time.Duration, now func() time.Time) *lagHistory {
	return &lagHistory{src: src, every: every, now: now}
}

// start samples at once and then every interval until stop; without a
// source it does nothing.
func (h *lagHistory) start() {
	if h.src == nil || h.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		t := time.NewTicker(h.every)
		defer t.Stop()
		for {
			h.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stop ends the sampling and returns once it has ended.
func (h *lagHistory) stop() {
	if h.done == nil {
		return
	}
	h.cancel()
	<-h.done
}

// sample reads the lag once and keeps it.
func (h *lagHistory) sample(ctx context.Context) {
	lags := h.src.Lag(ctx)
	if ctx.Err() != nil {
		return
	}
	h.add(lagSample{at: h.now(), lags: lags})
}

// add keeps s, in place of the oldest sample once there are lagSamples.
func (h *lagHistory) add(s lagSample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.samples) < lagSamples {
		h.samples = append(h.samples, s)
		return
	}
	h.samples[h.next] = s
	h.next = (h.next + 1) % lagSamples
}

// series returns, for each consumer of the newest sample, its highest lag
// (pending and ack pending) sampled in each of the minutes starting at
// times; NaN where none was read.
func (h *lagHistory) series(times []time.Time) []chartSeries {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.samples) == 0 || len(times) == 0 {
		return nil
	}
	newest := h.samples[(h.next+len(h.samples)-1)%len(h.samples)]
	out := make([]chartSeries, len(newest.lags))
	index := map[string]int{}
	for i, l := range newest.lags {
		index[l.Stream+"/"+l.Name] = i
		out[i] = chartSeries{Name: l.Name, Values: make([]float64, len(times))}
		for j := range out[i].Values {
			out[i].Values[j] = math.NaN()
		}
	}
	for _, s := range h.samples {
		j := minuteIndex(times, s.at)
		if j < 0 {
			continue
		}
		for _, l := range s.lags {
			i, ok := index[l.Stream+"/"+l.Name]
			if !ok || l.Error != "" {
				continue
			}
			v, was := float64(l.Pending+l.AckPending), out[i].Values[j]
			if math.IsNaN(was) || v > was {
				out[i].Values[j] = v
			}
		}
	}
	return out
}

// minuteIndex returns the index of the minute of times that at falls in,
// or -1 when it falls in none.
func minuteIndex(times []time.Time, at time.Time) int {
	if len(times) == 0 || at.Before(times[0]) {
		return -1
	}
	j := int(at.Sub(times[0]) / time.Minute)
	if j >= len(times) {
		return -1
	}
	return j
}
