package readmodel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// captured is a slog handler that keeps every record, as text, for a test
// to read.
type captured struct {
	mu    sync.Mutex
	lines []string
}

func (c *captured) Enabled(context.Context, slog.Level) bool { return true }
func (c *captured) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *captured) WithGroup(string) slog.Handler            { return c }

func (c *captured) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, b.String())
	return nil
}

// skips returns the lines that report a skipped message.
func (c *captured) skips() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if strings.HasPrefix(l, "stored message skipped") {
			out = append(out, l)
		}
	}
	return out
}

func TestPoisonIsPassedOverCountedAndLoggedOnce(t *testing.T) {
	fx := newFixture(t)
	a := fx.request("cust")
	fx.caughtUp()
	sub := uuid.NewString()
	good := delivery(sub, 1, webhook.DeliveryFailing, 1)
	long := strings.Repeat("P", 2000) // never to be logged whole
	poisoned := uuid.NewString()
	fx.publishRaw(events.Subject(events.DefaultAccount, poisoned, events.InvoiceRequested), []byte(`{"schema":1,"garbage":true}`))
	fx.publishRaw(events.Subject(events.DefaultAccount, a.Invoice.ID, events.InvoiceProcessed), []byte("\xff\xfe\x00not json"))
	fx.publishRaw(events.Subject(events.DefaultAccount, uuid.NewString(), events.InvoiceFailed), []byte(`{"schema":1,"id":"e","type":"`+long+`"}`))
	fx.publishRaw(webhook.DoneSubject(sub, "not-a-uuid"), []byte(`{"id":"not-a-uuid","status":"dead"}`))
	other := delivery(sub, 2, webhook.DeliveryDead, 1)
	fx.publishRaw(webhook.DoneSubject(uuid.NewString(), good.ID), mustJSON(t, other)) // another delivery's subject
	for key, data := range map[string]string{"garbage": "{", good.ID: `{"id":"` + good.ID + `","status":"on fire"}`} {
		if _, err := fx.h.Deliveries.Put(context.Background(), key, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	fx.live(good)
	// Last on INVOICES, on a subject the history never copies: the store
	// must still come to hold the stream up to its end.
	uncopied := fx.publishRaw(events.SubjectPrefix+"."+poisoned, []byte(`{"schema":1}`))
	fx.caughtUp()
	fx.holdsAllOf(fx.h.Webhooks)
	fx.holds(good)

	// The store holds both streams to their ends and the live record's
	// last value; each skip is counted as its transaction commits.
	const want = 8
	natstest.Eventually(t, 10*time.Second, fmt.Sprintf("%d messages skipped", want), func() bool {
		return fx.f.Skipped() >= want && len(fx.logs.skips()) >= want
	})
	if n := fx.f.Skipped(); n != want {
		t.Errorf("Skipped() = %d, want %d", n, want)
	}
	lines := fx.logs.skips()
	if len(lines) != want {
		t.Errorf("%d skip lines, want one per message:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if strings.Contains(l, long[:300]) || !strings.Contains(l, "subject=") || !strings.Contains(l, "seq=") {
			t.Errorf("skip line without subject and sequence, or with the payload: %.300s", l)
		}
	}
	wantLine := fmt.Sprintf("stream=INVOICES seq=%d subject=invoices.%s ", uncopied, poisoned)
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, wantLine) }) {
		t.Errorf("no skip line with %q:\n%s", wantLine, strings.Join(lines, "\n"))
	}
	if got, _ := walk(t, fx.store, readmodel.InvoiceFilter{}, 10); !slices.Equal(got, []string{a.Invoice.ID}) {
		t.Errorf("listed %v, want only %s", got, a.Invoice.ID)
	}
	if got := walkDeliveries(t, fx.store, readmodel.DeliveryFilter{}, 10); !slices.Equal(got, []string{good.ID}) {
		t.Errorf("deliveries %v, want only %s", got, good.ID)
	}

	// A restart reads on from where the store is: what the history holds is
	// not passed over again; the live bucket's current values are read
	// again, and good.ID's is good now.
	fx.close()
	fx.logs = &captured{}
	fx.open()
	fx.caughtUp()
	next := fx.request("cust")
	fx.caughtUp()
	natstest.Eventually(t, 10*time.Second, "the live record read again", func() bool { return len(fx.logs.skips()) >= 1 })
	if n, lines := fx.f.Skipped(), fx.logs.skips(); n != 1 || len(lines) != 1 || !strings.Contains(lines[0], "$KV.webhook_deliveries.garbage") {
		t.Errorf("after a restart %d skipped, %d logged, want the live record that is not one:\n%s", n, len(lines), strings.Join(lines, "\n"))
	}
	if got, _ := walk(t, fx.store, readmodel.InvoiceFilter{}, 10); !slices.Equal(got, []string{next.Invoice.ID, a.Invoice.ID}) {
		t.Errorf("listed %v after a restart", got)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
