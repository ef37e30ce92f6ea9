package broker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestHistoryGoesOnInSealedSegments fills segments past their size, and
// checks that each is sealed, the next goes on where it stopped, and the
// whole history reads as every event once, in order.
func TestHistoryGoesOnInSealedSegments(t *testing.T) {
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	cfg := broker.Streams{HistorySegmentBytes: 2000}
	statetest.Streams(t, js, cfg)
	ctx := context.Background()
	var want []uint64
	for round := range 3 {
		for n := range 5 {
			ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: events.Subject(events.DefaultAccount, fmt.Sprintf("inv-%d-%d", round, n), events.InvoiceRequested),
				Data: []byte(`{"padding":"` + fmt.Sprintf("%0300d", n) + `"}`)})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, ack.Sequence)
		}
		if err := history.AwaitInvoices(ctx, js); err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.KeepHistory(ctx, js, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := history.Segments(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(segs, []string{history.SegmentName(1), history.SegmentName(2), history.SegmentName(3), history.SegmentName(4)}) {
		t.Fatalf("segments %v, want three sealed and a fourth", segs)
	}
	for i, name := range segs {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if info := st.CachedInfo(); info.Config.Sealed != (i < 3) || (i < 3) != (len(info.Config.Sources) == 0) {
			t.Errorf("%s: sealed %v with %d sources", name, info.Config.Sealed, len(info.Config.Sources))
		}
	}
	st, _ := js.Stream(ctx, history.SegmentName(4))
	if src := st.CachedInfo().Config.Sources; len(src) != 2 || src[0].OptStartSeq != want[len(want)-1]+1 {
		t.Fatalf("the newest segment copies from %+v, want INVOICES from %d", src[0], want[len(want)-1]+1)
	}

	r, err := history.NewReader(ctx, js, history.Invoices, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	if err := r.Each(ctx, func(m history.Message) error { got = append(got, m.Origin.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
}

// TestProcessesKeepTheHistoryAtOnce has several processes seal and start
// segments at the same moments: each succeeds, and one segment follows
// each sealed one.
func TestProcessesKeepTheHistoryAtOnce(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	cfg := broker.Streams{HistorySegmentBytes: 1000}
	statetest.Streams(t, js, cfg)
	ctx := context.Background()
	for round := range 4 {
		for n := range 4 {
			_, err := js.PublishMsg(ctx, &nats.Msg{Subject: events.Subject(events.DefaultAccount, fmt.Sprintf("inv-%d-%d", round, n), events.InvoiceRequested),
				Data: []byte(fmt.Sprintf(`{"padding":"%0300d"}`, n))})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := history.AwaitInvoices(ctx, js); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for p := range errs {
			_, other := natstest.Connect(t, srv)
			wg.Go(func() { _, errs[p] = cfg.KeepHistory(ctx, other, time.Now()) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		segs, err := history.Segments(ctx, js)
		if err != nil {
			t.Fatal(err)
		}
		if len(segs) != round+2 {
			t.Fatalf("round %d: segments %v, want %d", round, segs, round+2)
		}
	}
}

// TestHistoryRetentionDeletesWholeSegments checks that a sealed segment
// goes once its newest message is older than the retention, and the one
// being copied into never does.
func TestHistoryRetentionDeletesWholeSegments(t *testing.T) {
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	cfg := broker.Streams{HistorySegmentBytes: 100, HistoryRetention: time.Hour}
	statetest.Streams(t, js, cfg)
	ctx := context.Background()
	if _, err := js.Publish(ctx, events.Subject(events.DefaultAccount, "inv-1", events.InvoiceRequested), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := history.AwaitInvoices(ctx, js); err != nil {
		t.Fatal(err)
	}
	segments := func(now time.Time) []string {
		t.Helper()
		if _, err := cfg.KeepHistory(ctx, js, now); err != nil {
			t.Fatal(err)
		}
		segs, err := history.Segments(ctx, js)
		if err != nil {
			t.Fatal(err)
		}
		return segs
	}
	if got := segments(time.Now()); !slices.Equal(got, []string{history.SegmentName(1), history.SegmentName(2)}) {
		t.Fatalf("segments %v, want the full one sealed and a new one", got)
	}
	if got := segments(time.Now().Add(30 * time.Minute)); len(got) != 2 {
		t.Fatalf("segments %v: deleted within the retention", got)
	}
	if got := segments(time.Now().Add(2 * time.Hour)); !slices.Equal(got, []string{history.SegmentName(2)}) {
		t.Fatalf("segments %v past the retention, want only the one being copied into", got)
	}
	if _, err := js.Stream(ctx, history.SegmentName(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(ctx, history.SegmentName(1)); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("expired segment: %v", err)
	}
}
