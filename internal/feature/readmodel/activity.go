package readmodel

import (
	"math"
	"sync"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// ActivityMinutes is how many minutes, the current one last, an Activity
// counts.
const ActivityMinutes = 60

// maxActivitySubscriptions and maxActivityAccounts bound the subscriptions
// and the accounts an Activity counts apart; past either the least
// recently active one is dropped. Each costs ActivityMinutes slots, about
// 7 KB, so all of them at most 14 MB.
const (
	maxActivitySubscriptions = 1000
	maxActivityAccounts      = 1000
)

// latencyBoundsMS are the upper bounds, in milliseconds, of the attempt
// latency histogram's buckets; one more bucket holds the longer attempts.
var latencyBoundsMS = [...]int64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000}

// Minute is what the read model applied for one minute.
type Minute struct {
	// Start is the minute's first instant, in UTC.
	Start time.Time
	// Accepted counts invoices created in the minute, Processed and
	// Failed their outcomes; they are zero for one subscription.
	Accepted, Processed, Failed int
	// Success, Failure and Error count the webhook attempts started in
	// the minute: answered 2xx, answered another status, not answered.
	Success, Failure, Error int
	// Dead counts the deliveries that went dead in the minute.
	Dead int
	// P50 and P99 estimate the attempts' durations from a histogram;
	// zero without attempts.
	P50, P99 time.Duration
}

// Attempts returns how many webhook attempts started in the minute.
func (m Minute) Attempts() int { return m.Success + m.Failure + m.Error }

// counts is one minute's tally.
type counts struct {
	accepted, processed, failed uint32
	success, failure, errored   uint32
	dead                        uint32
	minMS, maxMS                int64 // of the attempts counted
	latency                     [len(latencyBoundsMS) + 1]uint32
}

// slot is the tally of the unix minute it holds.
type slot struct {
	minute int64
	counts
}

// window is a ring of the last ActivityMinutes minutes' tallies, indexed
// by unix minute.
type window [ActivityMinutes]slot

// clear empties w: a slot whose minute is none the window holds is
// emptied before it is counted into.
func (w *window) clear() {
	for i := range w {
		w[i].minute = math.MinInt64
	}
}

// at returns minute's tally, reusing the slot of a minute an hour older.
func (w *window) at(minute int64) *counts {
	s := &w[slotOf(minute)]
	if s.minute != minute {
		*s = slot{minute: minute}
	}
	return &s.counts
}

// minutes returns the minutes up to last, oldest first.
func (w *window) minutes(last int64) []Minute {
	out := make([]Minute, ActivityMinutes)
	for i := range out {
		m := last - ActivityMinutes + 1 + int64(i)
		out[i].Start = time.Unix(m*60, 0).UTC()
		if s := &w[slotOf(m)]; s.minute == m {
			s.counts.into(&out[i])
		}
	}
	return out
}

// into copies c into m.
func (c *counts) into(m *Minute) {
	m.Accepted, m.Processed, m.Failed = int(c.accepted), int(c.processed), int(c.failed)
	m.Success, m.Failure, m.Error, m.Dead = int(c.success), int(c.failure), int(c.errored), int(c.dead)
	m.P50, m.P99 = c.quantile(0.50), c.quantile(0.99)
}

// attempt counts one attempt of status that took ms milliseconds.
func (c *counts) attempt(status int, ms int64) {
	switch {
	case status >= 200 && status < 300:
		c.success++
	case status != 0:
		c.failure++
	default:
		c.errored++
	}
	ms = max(ms, 0)
	if c.success+c.failure+c.errored == 1 {
		c.minMS, c.maxMS = ms, ms
	}
	c.minMS, c.maxMS = min(c.minMS, ms), max(c.maxMS, ms)
	i := 0
	for i < len(latencyBoundsMS) && ms > latencyBoundsMS[i] {
		i++
	}
	c.latency[i]++
}

// quantile estimates the q quantile of the attempts' durations: within
// the bucket it falls in, as if its attempts were spread evenly, and never
// beyond the shortest and longest attempt.
func (c *counts) quantile(q float64) time.Duration {
	total := float64(c.success + c.failure + c.errored)
	if total == 0 {
		return 0
	}
	rank, below := q*total, 0.0
	for i, n := range c.latency {
		if n == 0 || below+float64(n) < rank {
			below += float64(n)
			continue
		}
		lo, hi := int64(0), c.maxMS
		if i > 0 {
			lo = latencyBoundsMS[i-1]
		}
		if i < len(latencyBoundsMS) {
			hi = min(hi, latencyBoundsMS[i])
		}
		lo = min(max(lo, c.minMS), hi)
		ms := float64(lo) + float64(hi-lo)*(rank-below)/float64(n)
		return time.Duration(ms * float64(time.Millisecond))
	}
	return time.Duration(c.maxMS) * time.Millisecond
}

// Activity counts, per minute over the last hour, what the read model
// applies: invoices accepted, their outcomes, and webhook attempts and
// dead deliveries, of everything, of each of the most recently active
// accounts and of each of the most recently active subscriptions. Counting
// is O(1) per record and its lock is held only to add a committed
// transaction's tally or to copy an hour out.
type Activity struct {
	now   func() time.Time
	since time.Time

	mu       sync.Mutex
	all      window
	subs     recent
	accounts recent
}

// Scope names whose activity Minutes returns: one subscription's, one
// account's, or, when zero, everything's.
type Scope struct {
	Account      string
	Subscription string // narrower than Account: when set, Account is not read
}

// newActivity returns an empty Activity that counts from now() on, apart
// for up to maxSubs subscriptions and maxAccounts accounts.
func newActivity(now func() time.Time, maxSubs, maxAccounts int) *Activity {
	return &Activity{now: now, since: now().UTC(), subs: newRecent(maxSubs), accounts: newRecent(maxAccounts)}
}

// Since returns when the Activity began counting: what was applied
// before is not counted.
func (a *Activity) Since() time.Time { return a.since }

// Minutes returns the last ActivityMinutes minutes of of, the current one
// last; all zero for a subscription or account not active lately.
func (a *Activity) Minutes(of Scope) []Minute {
	last := unixMinute(a.now())
	a.mu.Lock()
	defer a.mu.Unlock()
	var w *window
	switch {
	case of.Subscription != "":
		w = a.subs.find(of.Subscription)
	case of.Account != "":
		w = a.accounts.find(of.Account)
	default:
		w = &a.all
	}
	if w == nil {
		w = new(window)
	}
	return w.minutes(last)
}

// tally gathers what one transaction applies, to be counted once it
// commits: a transaction tried again must not count twice.
type tally struct {
	cutoff time.Time // older is outside the window
	seen   []observation
}

// observation is one thing to count.
type observation struct {
	kind    observed
	at      time.Time
	account string
	sub     string
	status  int   // an attempt's HTTP status
	ms      int64 // an attempt's duration
}

type observed uint8

const (
	seenAccepted observed = iota
	seenProcessed
	seenFailed
	seenAttempt
	seenDead
)

// tally returns an empty tally for a transaction.
func (a *Activity) tally() *tally {
	return &tally{cutoff: a.now().Add(-ActivityMinutes * time.Minute)}
}

// invoice notes an invoice event applied for the first time.
func (t *tally) invoice(ev events.Event) {
	switch ev.Type {
	case events.InvoiceRequested:
		t.note(observation{kind: seenAccepted, at: ev.Invoice.CreatedAt, account: ev.Account()})
	case events.InvoiceProcessed:
		t.note(observation{kind: seenProcessed, at: ev.Time, account: ev.Account()})
	case events.InvoiceFailed:
		t.note(observation{kind: seenFailed, at: ev.Time, account: ev.Account()})
	}
}

// delivery notes a newer version of d replacing one that held before
// attempts and had status was: its new attempts, and its going dead.
func (t *tally) delivery(d webhook.Delivery, before int, was string) {
	for _, at := range d.Attempts[min(max(before, 0), len(d.Attempts)):] {
		t.note(observation{kind: seenAttempt, at: at.StartedAt, account: d.Owner(), sub: d.SubscriptionID,
			status: at.HTTPStatus, ms: at.DurationMS})
	}
	if d.Status == webhook.DeliveryDead && was != webhook.DeliveryDead {
		t.note(observation{kind: seenDead, at: d.UpdatedAt, account: d.Owner(), sub: d.SubscriptionID})
	}
}

func (t *tally) note(o observation) {
	if o.at.After(t.cutoff) {
		t.seen = append(t.seen, o)
	}
}

// add counts what t gathered. What is older than the window is passed
// over, and what is dated up to a minute ahead (another process's clock)
// counts in the current minute.
func (a *Activity) add(t *tally) {
	if len(t.seen) == 0 {
		return
	}
	now := unixMinute(a.now())
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, o := range t.seen {
		m := unixMinute(o.at)
		if m <= now-ActivityMinutes || m > now+1 {
			continue
		}
		m = min(m, now)
		a.all.at(m).add(o)
		a.accounts.window(o.account).at(m).add(o)
		if o.sub != "" {
			a.subs.window(o.sub).at(m).add(o)
		}
	}
}

// add counts o into c.
func (c *counts) add(o observation) {
	switch o.kind {
	case seenAccepted:
		c.accepted++
	case seenProcessed:
		c.processed++
	case seenFailed:
		c.failed++
	case seenAttempt:
		c.attempt(o.status, o.ms)
	case seenDead:
		c.dead++
	}
}

// slotOf returns the slot of a window that holds minute.
func slotOf(minute int64) int {
	return int((minute%ActivityMinutes + ActivityMinutes) % ActivityMinutes)
}

// unixMinute returns the unix minute t falls in.
func unixMinute(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 59) / 60
	}
	return s / 60
}
