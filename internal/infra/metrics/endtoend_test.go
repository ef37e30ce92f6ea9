package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEndToEndIsAHistogramByEventType records two first deliveries and
// finds them in the scrape, each under its event type.
func TestEndToEndIsAHistogramByEventType(t *testing.T) {
	m := New()
	m.Delivered("invoice.created", 40*time.Millisecond)
	m.Delivered("invoice.processed", 3*time.Second)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`invoiced_webhook_end_to_end_seconds_bucket{event_type="invoice.created",le="0.05"} 1`,
		`invoiced_webhook_end_to_end_seconds_bucket{event_type="invoice.processed",le="2.5"} 0`,
		`invoiced_webhook_end_to_end_seconds_count{event_type="invoice.processed"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
}
