package readmodel

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// clock is a settable time for an Activity.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var activityStart = time.Date(2026, 5, 4, 13, 0, 30, 0, time.UTC)

func newTestActivity(maxSubs int) (*Activity, *clock) {
	c := &clock{t: activityStart}
	return newActivity(c.now, maxSubs, maxSubs), c
}

// attempted returns a delivery to sub whose attempts started at the times
// given, each answered status after ms milliseconds.
func attempted(sub, status string, answer int, ms int64, starts ...time.Time) webhook.Delivery {
	d := webhook.Delivery{ID: "d-" + sub, SubscriptionID: sub, Status: status, UpdatedAt: activityStart}
	for i, at := range starts {
		d.Attempts = append(d.Attempts, webhook.Attempt{Number: i + 1, StartedAt: at, HTTPStatus: answer, DurationMS: ms})
	}
	return d
}

func TestActivityCountsEachKindInItsMinute(t *testing.T) {
	a, c := newTestActivity(10)
	tl := a.tally()
	inv := events.Invoice{CreatedAt: activityStart.Add(-2 * time.Minute)}
	tl.invoice(events.Event{Type: events.InvoiceRequested, Invoice: inv})
	tl.invoice(events.Event{Type: events.InvoiceRequested, Invoice: inv})
	tl.invoice(events.Event{Type: events.InvoiceProcessed, Time: activityStart.Add(-time.Minute)})
	tl.invoice(events.Event{Type: events.InvoiceFailed, Time: activityStart})
	tl.delivery(attempted("s1", webhook.DeliveryFailing, 200, 3, activityStart, activityStart), 0, "")
	tl.delivery(attempted("s1", webhook.DeliveryFailing, 503, 40, activityStart), 0, "")
	tl.delivery(attempted("s2", webhook.DeliveryDead, 0, 9000, activityStart, activityStart, activityStart), 2, webhook.DeliveryFailing)
	a.add(tl)

	all := a.Minutes(Scope{})
	if len(all) != ActivityMinutes || !all[ActivityMinutes-1].Start.Equal(activityStart.Truncate(time.Minute)) {
		t.Fatalf("%d minutes ending %s", len(all), all[len(all)-1].Start)
	}
	last, before, two := all[59], all[58], all[57]
	if two.Accepted != 2 || before.Processed != 1 || last.Failed != 1 {
		t.Errorf("invoices: %+v %+v %+v", two, before, last)
	}
	if last.Success != 2 || last.Failure != 1 || last.Error != 1 || last.Dead != 1 {
		t.Errorf("attempts: %+v", last)
	}
	s1, s2 := a.Minutes(Scope{Subscription: "s1"})[59], a.Minutes(Scope{Subscription: "s2"})[59]
	if s1.Success != 2 || s1.Failure != 1 || s1.Error != 0 || s1.Accepted != 0 || s2.Error != 1 || s2.Dead != 1 {
		t.Errorf("subscriptions: %+v %+v", s1, s2)
	}
	if got := a.Minutes(Scope{Subscription: "none"})[59]; got.Attempts() != 0 {
		t.Errorf("an unknown subscription: %+v", got)
	}

	// An hour on, the window has moved past all of it.
	c.t = c.t.Add(time.Hour)
	for _, m := range a.Minutes(Scope{}) {
		if m != (Minute{Start: m.Start}) {
			t.Fatalf("an hour on: %+v", m)
		}
	}
}

func TestActivityPassesOverWhatIsOutsideTheWindow(t *testing.T) {
	a, _ := newTestActivity(10)
	tl := a.tally()
	for _, at := range []time.Time{activityStart.Add(-time.Hour), activityStart.Add(-2 * time.Hour), {}, activityStart.Add(5 * time.Minute)} {
		tl.invoice(events.Event{Type: events.InvoiceRequested, Invoice: events.Invoice{CreatedAt: at}})
	}
	// A minute ahead is another process's clock: counted now.
	tl.invoice(events.Event{Type: events.InvoiceRequested, Invoice: events.Invoice{CreatedAt: activityStart.Add(40 * time.Second)}})
	tl.invoice(events.Event{Type: events.InvoiceRequested, Invoice: events.Invoice{CreatedAt: activityStart.Add(-59 * time.Minute)}})
	a.add(tl)
	ms := a.Minutes(Scope{})
	total := 0
	for _, m := range ms {
		total += m.Accepted
	}
	if total != 2 || ms[59].Accepted != 1 || ms[0].Accepted != 1 {
		t.Fatalf("counted %d: first %+v, last %+v", total, ms[0], ms[59])
	}
}

func TestActivityCountsOnlyNewAttempts(t *testing.T) {
	a, _ := newTestActivity(10)
	tl := a.tally()
	d := attempted("s", webhook.DeliveryFailing, 500, 1, activityStart, activityStart, activityStart)
	tl.delivery(d, 2, webhook.DeliveryFailing)
	tl.delivery(d, 3, webhook.DeliveryFailing) // the same attempts again
	tl.delivery(d, 9, "")                      // a stored version said to hold more
	tl.delivery(d, -1, "")
	a.add(tl)
	if got := a.Minutes(Scope{Subscription: "s"})[59].Failure; got != 4 {
		t.Fatalf("%d attempts counted, want 1 then 3", got)
	}
}

func TestActivityCountsEachAccountApart(t *testing.T) {
	a, _ := newTestActivity(10)
	tl := a.tally()
	requested := func(account string) events.Event {
		return events.Event{Type: events.InvoiceRequested, Invoice: events.Invoice{Account: account, CreatedAt: activityStart}}
	}
	tl.invoice(requested("acme"))
	tl.invoice(requested("acme"))
	tl.invoice(requested("")) // before accounts: the default account's
	tl.invoice(events.Event{Type: events.InvoiceFailed, Time: activityStart, Invoice: events.Invoice{Account: "acme"}})
	d := attempted("s1", webhook.DeliveryDead, 500, 7, activityStart)
	d.Account = "acme"
	tl.delivery(d, 0, webhook.DeliveryFailing)
	tl.delivery(attempted("s2", webhook.DeliveryDelivered, 200, 3, activityStart), 0, "")
	a.add(tl)

	acme, def := a.Minutes(Scope{Account: "acme"})[59], a.Minutes(Scope{Account: events.DefaultAccount})[59]
	if acme != (Minute{Start: acme.Start, Accepted: 2, Failed: 1, Failure: 1, Dead: 1, P50: acme.P50, P99: acme.P99}) || acme.P99 == 0 {
		t.Errorf("acme: %+v", acme)
	}
	if def.Accepted != 1 || def.Success != 1 || def.Failure != 0 || def.Dead != 0 {
		t.Errorf("default: %+v", def)
	}
	if other := a.Minutes(Scope{Account: "other"})[59]; other != (Minute{Start: other.Start}) {
		t.Errorf("an account never active: %+v", other)
	}
	if s := a.Minutes(Scope{Account: events.DefaultAccount, Subscription: "s1"})[59]; s.Failure != 1 || s.Success != 0 {
		t.Errorf("a subscription is its own scope, whatever the account: %+v", s)
	}
}

func TestActivityDropsTheLeastRecentlyActiveSubscription(t *testing.T) {
	a, _ := newTestActivity(2)
	for _, sub := range []string{"a", "b", "a", "c"} {
		tl := a.tally()
		tl.delivery(attempted(sub, webhook.DeliveryDelivered, 200, 1, activityStart), 0, "")
		a.add(tl)
	}
	got := map[string]int{}
	for _, sub := range []string{"a", "b", "c"} {
		got[sub] = a.Minutes(Scope{Subscription: sub})[59].Success
	}
	if got["a"] != 2 || got["b"] != 0 || got["c"] != 1 || len(a.subs.byID) != 2 || a.subs.order.Len() != 2 {
		t.Fatalf("kept %v (%d)", got, len(a.subs.byID))
	}
	if all := a.Minutes(Scope{})[59].Success; all != 4 {
		t.Fatalf("every subscription: %d", all)
	}
}

func TestActivityLatencyQuantiles(t *testing.T) {
	cases := []struct {
		ms       []int64
		p50, p99 time.Duration
	}{
		{nil, 0, 0},
		{[]int64{7}, 7 * time.Millisecond, 7 * time.Millisecond},
		{[]int64{0, 0, 0}, 0, 0},
		{[]int64{-5}, 0, 0},
		{[]int64{1, 1, 1, 1}, time.Millisecond, time.Millisecond},
		{[]int64{90000, 120000}, 105 * time.Second, 119700 * time.Millisecond},
	}
	for _, c := range cases {
		var cs counts
		for _, ms := range c.ms {
			cs.attempt(200, ms)
		}
		if p50, p99 := cs.quantile(0.5), cs.quantile(0.99); p50 != c.p50 || p99 != c.p99 {
			t.Errorf("%v: p50 %s p99 %s, want %s %s", c.ms, p50, p99, c.p50, c.p99)
		}
	}
	// 99 quick attempts and one slow: the median is quick, p99 within
	// the quick ones' bucket, and no estimate leaves the range seen.
	var cs counts
	for range 99 {
		cs.attempt(200, 3)
	}
	cs.attempt(200, 4000)
	if p50, p99 := cs.quantile(0.5), cs.quantile(0.99); p50 < 3*time.Millisecond || p50 > 5*time.Millisecond || p99 > 5*time.Millisecond {
		t.Errorf("p50 %s p99 %s", p50, p99)
	}
	if p100 := cs.quantile(1); p100 != 4*time.Second {
		t.Errorf("p100 %s", p100)
	}
}

func TestActivityBoundsItsMemory(t *testing.T) {
	a, c := newTestActivity(maxActivitySubscriptions)
	for i := range 3 * maxActivitySubscriptions {
		c.t = activityStart.Add(time.Duration(i) * 3 * time.Second)
		tl := a.tally()
		d := attempted(fmt.Sprint("sub-", i), webhook.DeliveryDelivered, 200, int64(i), c.t)
		d.Account = fmt.Sprint("acct-", i)
		tl.delivery(d, 0, "")
		a.add(tl)
	}
	for name, r := range map[string]recent{"subscriptions": a.subs, "accounts": a.accounts} {
		if len(r.byID) != maxActivitySubscriptions || r.order.Len() != maxActivitySubscriptions {
			t.Fatalf("%d %s kept", len(r.byID), name)
		}
	}
	if p99 := a.Minutes(Scope{})[59].P99; p99 <= 0 || math.IsInf(p99.Seconds(), 0) {
		t.Fatalf("p99 %s", p99)
	}
}

// BenchmarkActivityAdd counts a full batch of attempts to 500
// subscriptions, and to 1,500 taking turns, each pushing out another.
func BenchmarkActivityAdd(b *testing.B) {
	for _, subs := range []int{500, 1500} {
		b.Run(fmt.Sprint(subs), func(b *testing.B) {
			a, _ := newTestActivity(maxActivitySubscriptions)
			tl := a.tally()
			for i := range maxBatch {
				tl.delivery(attempted(fmt.Sprint("sub-", i%subs), webhook.DeliveryDelivered, 200, int64(i), activityStart), 0, "")
			}
			b.ResetTimer()
			for b.Loop() {
				a.add(tl)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*maxBatch), "ns/attempt")
		})
	}
}
