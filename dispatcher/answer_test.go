package dispatcher

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

func TestAnswersAreCappedAndRedirectsNotFollowed(t *testing.T) {
	f := newFixture(t)
	var followed atomic.Bool
	target := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { followed.Store(true) })
	tests := []struct {
		name       string
		answer     func(w http.ResponseWriter)
		wantStatus int
		wantBody   int
	}{
		{"a large answer keeps its first 4 KiB", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(strings.Repeat("x", 10<<10)))
		}, http.StatusOK, webhook.MaxResponseBody},
		{"a redirect is a failed attempt", func(w http.ResponseWriter) {
			w.Header().Set("Location", target.URL)
			w.WriteHeader(http.StatusFound)
		}, http.StatusFound, 0},
	}
	var subs []webhook.Subscription
	for _, tt := range tests {
		answer := tt.answer
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w) })
		subs = append(subs, f.subscribe(t, rc.URL, webhook.EventInvoiceCreated))
	}
	f.start(t, Config{Schedule: webhook.Schedule{time.Hour}})
	ev := f.invoiceEvents(t)[0]
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d webhook.Delivery
			natstest.Eventually(t, 10*time.Second, "first attempt recorded", func() bool {
				var ok bool
				d, ok = f.delivery(t, subs[i].ID, webhook.DeliveryID(ev.ID, subs[i].ID))
				return ok && len(d.Attempts) > 0
			})
			a := d.Attempts[0]
			if a.HTTPStatus != tt.wantStatus || len(a.ResponseBody) != tt.wantBody {
				t.Fatalf("attempt: status %d, %d bytes kept", a.HTTPStatus, len(a.ResponseBody))
			}
			if tt.wantStatus == http.StatusFound && (d.Status != webhook.DeliveryFailing || a.Error == "") {
				t.Fatalf("a redirect counted as %s: %+v", d.Status, a)
			}
		})
	}
	if followed.Load() {
		t.Fatal("the redirect was followed")
	}
}

// TestAttemptsRecordHowLongTheyTook finds a receiver's 80 ms in the
// recorded attempt.
func TestAttemptsRecordHowLongTheyTook(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { time.Sleep(80 * time.Millisecond) })
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{})
	ev := f.invoiceEvents(t)[0]
	var d webhook.Delivery
	natstest.Eventually(t, 10*time.Second, "the attempt recorded", func() bool {
		var ok bool
		d, ok = f.delivery(t, sub.ID, webhook.DeliveryID(ev.ID, sub.ID))
		return ok && len(d.Attempts) > 0
	})
	if got := d.Attempts[0].DurationMS; got < 80 {
		t.Errorf("an attempt answered after 80 ms is recorded as taking %d ms", got)
	}
}
