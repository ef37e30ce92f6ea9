package listen

import (
	"strconv"
	"testing"
	"time"
)

// TestSeenHandlesEachIDOnce claims, releases and records ids: an id is
// claimed once until released, the oldest are forgotten past the bound,
// and since trails the newest event handled by catchUpMargin.
func TestSeenHandlesEachIDOnce(t *testing.T) {
	start := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	s := newSeen(3, start)
	if got := s.since(); !got.Equal(start.Add(-catchUpMargin)) {
		t.Fatalf("since with nothing handled = %v", got)
	}
	if !s.claim("a") || s.claim("a") {
		t.Fatal("a is claimed twice, or not at all")
	}
	s.release("a")
	if !s.claim("a") {
		t.Fatal("a released is not claimed again")
	}
	s.done("a", start.Add(time.Hour))
	s.release("a") // handled: not forgotten
	if s.claim("a") || !s.has("a") {
		t.Fatal("a handled is claimed again")
	}
	if got := s.since(); !got.Equal(start.Add(time.Hour - catchUpMargin)) {
		t.Fatalf("since = %v", got)
	}
	for i := range 3 {
		if !s.claim(strconv.Itoa(i)) {
			t.Fatalf("%d is not claimed", i)
		}
	}
	if s.has("a") || !s.has("0") || !s.has("2") {
		t.Fatal("the bound keeps other ids than the 3 newest")
	}
}
