package processor

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

func TestPoisonMessageIsTerminated(t *testing.T) {
	f := newFixture(t)
	f.start(t, Config{}, nil)
	bad := uuid.NewString()
	if _, err := f.js.Publish(context.Background(), events.Subject(testAccount, bad, events.InvoiceRequested), []byte(`{"not":"an event"}`)); err != nil {
		t.Fatal(err)
	}
	good := f.request(t, 10)
	wantOneOutcome(t, f.awaitOutcome(t, good), events.InvoiceProcessed)
	f.awaitIdle(t)
	last, err := f.stream.GetLastMsgForSubject(context.Background(), events.InvoiceSubjects(bad))
	if err != nil || last.Subject != events.Subject(testAccount, bad, events.InvoiceRequested) {
		t.Fatalf("poison message got an outcome: %v %v", last, err)
	}
}

// garble publishes what is no event under subject, on the stream.
func (f *fixture) garble(t testing.TB, subject string) {
	t.Helper()
	if _, err := f.js.Publish(context.Background(), subject, []byte(`{"schema":1,"garbage":true}`)); err != nil {
		t.Fatal(err)
	}
}

func TestWhatFollowsARequestByHandIsSteppedOver(t *testing.T) {
	f := newFixture(t)
	id := f.request(t, 10)
	f.garble(t, events.Subject(testAccount, id, events.InvoiceRequested))
	p := f.start(t, Config{}, nil)
	natstest.Eventually(t, 15*time.Second, "an outcome after the garbage", func() bool {
		last, err := f.stream.GetLastMsgForSubject(context.Background(), events.Subject(testAccount, id, events.InvoiceProcessed))
		return err == nil && last.Sequence > f.lastRequest
	})
	f.awaitIdle(t)
	outcomes := 0
	for _, typ := range []events.Type{events.InvoiceProcessed, events.InvoiceFailed} {
		if _, err := f.stream.GetLastMsgForSubject(context.Background(), events.Subject(testAccount, id, typ)); err == nil {
			outcomes++
		}
	}
	info, err := f.stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if outcomes != 1 || info.State.Msgs != 3 || p.Skipped() == 0 {
		t.Fatalf("%d outcomes, %d messages (want the request, the garbage and one outcome), %d skipped", outcomes, info.State.Msgs, p.Skipped())
	}
}

func TestGarbageOnAnOutcomesSubjectStoresNoSecondOutcome(t *testing.T) {
	f := newFixture(t)
	id := f.request(t, 10)
	f.garble(t, events.Subject(testAccount, id, events.InvoiceProcessed))
	p := f.start(t, Config{}, nil)
	f.awaitIdle(t)
	natstest.Eventually(t, 15*time.Second, "the garbage counted", func() bool { return p.Skipped() > 0 })
	info, err := f.stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("%d messages, want the request and the garbage alone: what may hide an outcome is taken for one", info.State.Msgs)
	}
}
