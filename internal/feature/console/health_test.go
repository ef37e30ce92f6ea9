package console

import (
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
)

func TestCountAttemptsByMinuteAndOutcome(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 4, 30, 0, time.UTC)
	at := func(minutesAgo float64, status int) client.Attempt {
		return client.Attempt{StartedAt: now.Add(-time.Duration(minutesAgo * float64(time.Minute))), HTTPStatus: status}
	}
	ds := []delivery{
		{client.Delivery{Attempts: []client.Attempt{at(0.1, 200), at(0.2, 503), at(0.3, 0)}}},
		{client.Delivery{Attempts: []client.Attempt{at(1, 204), at(4.4, 410), at(4.6, 200), at(10, 200)}}},
	}
	got := countAttempts(ds, now, 5)
	want := []minuteCount{
		{Minute: now.Truncate(time.Minute).Add(-4 * time.Minute), Failure: 1},
		{Minute: now.Truncate(time.Minute).Add(-3 * time.Minute)},
		{Minute: now.Truncate(time.Minute).Add(-2 * time.Minute)},
		{Minute: now.Truncate(time.Minute).Add(-1 * time.Minute), Success: 1},
		{Minute: now.Truncate(time.Minute), Success: 1, Failure: 1, Error: 1},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("minute %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
