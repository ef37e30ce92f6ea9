package main

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// What the recipes of docs/INSPECTING.md for rebuilding a projection show: a consumer
// of the history started from a point in time or a sequence replays
// exactly the invoice events after it.

// natscliReplay is a replay from just after the newest event of the
// settled invoices, with one more invoice after that point.
type natscliReplay struct {
	cli    *natsCLI
	newest streamPosition // in the history, the newest event before the point
	later  string         // the invoice after the point
	after  []events.Event // its events: those the replay must bring
	last   streamPosition // in the history, its newest event
}

// rebuildStart is a recipe that starts the rebuild consumer at the point,
// and what the consumer's config must show.
type rebuildStart struct {
	name        string
	recipe      string
	placeholder string
	from        func() string // its value, taken just before the run
	check       func(tb testing.TB, cfg consumerConfig)
}

// checkReplays checks each way of starting the rebuild consumer, newest
// being the position in the history of the newest event so far.
func checkReplays(t *testing.T, s *natscliService, newest streamPosition) {
	t.Helper()
	// Replay from a point in time into a new consumer: the point is just
	// after the newest event so far, and one more invoice comes after it.
	point := newest.time.Add(time.Millisecond)
	r := natscliReplay{cli: s.cli, newest: newest, later: createInvoice(t, s.base, "natscli-later", 1200)}
	awaitProcessed(t, s.base, r.later)
	r.after = parseEvents(t, s.cli.run(t, recipeHistory, map[string]string{"<id>": r.later}))
	if got := eventTypes(r.after); !slices.Equal(got, []events.Type{events.InvoiceRequested, events.InvoiceProcessed}) {
		t.Fatalf("events of the later invoice %v", got)
	}
	waitFor(t, 20*time.Second, "the history holds the later invoice's events", func() (bool, string) {
		var msg streamMessage
		decode(t, s.cli.run(t, recipeNewestStored, nil), &msg)
		ev, err := events.Decode(msg.Data)
		r.last = streamPosition{msg.Seq, msg.Time}
		return err == nil && ev.ID == r.after[len(r.after)-1].ID, msg.Subject
	})
	for _, tt := range r.starts(point) {
		t.Run("rebuild "+tt.name, func(t *testing.T) { r.checkRebuild(t, tt) })
	}
}

// starts returns the recipes that start the rebuild consumer at point.
func (r natscliReplay) starts(point time.Time) []rebuildStart {
	next := r.newest.seq + 1
	return []rebuildStart{
		{"from a point in time", recipeRebuildSince, "<duration>",
			// natscli takes the point as an age: it starts at its now minus
			// this, a little after point, still before the later invoice.
			func() string { return time.Since(point).Truncate(time.Millisecond).String() },
			func(tb testing.TB, cfg consumerConfig) {
				tb.Helper()
				if cfg.DeliverPolicy != "by_start_time" || cfg.OptStartTime == nil || !cfg.OptStartTime.After(r.newest.time) {
					tb.Fatalf("consumer starts %s at %v; want after %v", cfg.DeliverPolicy, cfg.OptStartTime, r.newest.time)
				}
			}},
		{"from a sequence", recipeRebuildFrom, "<sequence>",
			func() string { return strconv.FormatUint(next, 10) },
			func(tb testing.TB, cfg consumerConfig) {
				tb.Helper()
				if cfg.DeliverPolicy != "by_start_sequence" || cfg.OptStartSeq != next {
					tb.Fatalf("consumer starts %s at %d; want sequence %d", cfg.DeliverPolicy, cfg.OptStartSeq, next)
				}
			}},
	}
}

// checkRebuild starts the rebuild consumer with tt, checks what it will
// replay, replays it, checks it is then at the end, and removes it.
func (r natscliReplay) checkRebuild(tb testing.TB, tt rebuildStart) {
	tb.Helper()
	r.cli.run(tb, tt.recipe, map[string]string{tt.placeholder: tt.from()})
	removed := false
	tb.Cleanup(func() {
		if !removed {
			r.cli.run(tb, recipeRebuildRemove, nil)
		}
	})
	var info consumerInfo
	decode(tb, r.cli.run(tb, recipeRebuildInfo, nil), &info)
	tt.check(tb, info.Config)
	if info.NumPending == nil || *info.NumPending != uint64(len(r.after)) {
		tb.Fatalf("replay pending %v, want %d (the later invoice's events)", info.NumPending, len(r.after))
	}

	r.checkReplayed(tb)

	info = consumerInfo{}
	decode(tb, r.cli.run(tb, recipeRebuildInfo, nil), &info)
	if info.NumPending == nil || *info.NumPending != 0 || info.Delivered.StreamSeq != r.last.seq {
		tb.Fatalf("after the replay: %+v, want delivered up to %d", info, r.last.seq)
	}
	r.cli.run(tb, recipeRebuildRemove, nil)
	removed = true
}

// checkReplayed checks that the replay recipe brings exactly the events
// after the point, and that they rebuild the later invoice's state.
func (r natscliReplay) checkReplayed(tb testing.TB) {
	tb.Helper()
	replayed := parseEvents(tb, r.cli.run(tb, recipeReplay, nil))
	if got, want := eventIDs(replayed), eventIDs(r.after); !slices.Equal(got, want) {
		tb.Fatalf("replayed events %v (%v), want exactly those after the point %v", got, eventTypes(replayed), want)
	}
	// The projection: each event carries the whole invoice, so the
	// newest one per invoice is its state.
	projection := map[string]events.Status{}
	for _, ev := range replayed {
		projection[ev.Invoice.ID] = ev.Invoice.Status
	}
	if !mapsEqual(projection, map[string]events.Status{r.later: events.StatusProcessed}) {
		tb.Fatalf("rebuilt projection %v", projection)
	}
}
