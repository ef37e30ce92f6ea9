package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// scrapeGauge returns the value of the unlabelled series name, and false
// when the scrape leaves it out.
func scrapeGauge(t *testing.T, m *Metrics, name string) (float64, bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	found := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if found == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(found[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// TestOldestUndeliveredIsTheOldestOfItsSources reads two sources and
// reports the older one's age; none is 0, and a failing source leaves the
// gauge out.
func TestOldestUndeliveredIsTheOldestOfItsSources(t *testing.T) {
	const name = "invoiced_webhook_oldest_undelivered_seconds"
	var a, b Oldest
	var failing error
	source := func(s *Oldest) Oldest {
		return func(ctx context.Context) (time.Time, bool, error) { return (*s)(ctx) }
	}
	at := func(age time.Duration) Oldest {
		return func(context.Context) (time.Time, bool, error) { return time.Now().Add(-age), true, failing }
	}
	none := func(context.Context) (time.Time, bool, error) { return time.Time{}, false, nil }
	m := New()
	if err := m.WatchOldestUndelivered(source(&a), source(&b)); err != nil {
		t.Fatal(err)
	}
	a, b = none, none
	if v, ok := scrapeGauge(t, m, name); !ok || v != 0 {
		t.Errorf("with nothing undelivered: %v (present %v), want 0", v, ok)
	}
	a, b = at(time.Minute), at(time.Hour)
	if v, ok := scrapeGauge(t, m, name); !ok || v < 3600 || v > 3660 {
		t.Errorf("an hour-old and a minute-old delivery: %v (present %v), want an hour", v, ok)
	}
	a, b = at(time.Hour), none
	if v, _ := scrapeGauge(t, m, name); v < 3600 {
		t.Errorf("the first source's hour: %v", v)
	}
	failing = errors.New("unreadable")
	if v, ok := scrapeGauge(t, m, name); ok {
		t.Errorf("a source failed, yet the gauge says %v", v)
	}
}
