package readmodel_test

import (
	"context"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// TestAWaitingReaderIsNotHeldByGathering makes the Follower gather for an
// hour after each commit, and checks that a reader waiting for what was
// published meanwhile gets it: a waiting reader ends the gathering.
func TestAWaitingReaderIsNotHeldByGathering(t *testing.T) {
	readmodel.SetCommitPacing(t, time.Hour, time.Hour)
	fx := newFixture(t)
	var last events.Event
	for range 5 {
		last = fx.request("cust-a")
		fx.caughtUp()
	}
	got, err := fx.store.Invoice(context.Background(), last.Invoice.ID)
	if err != nil || got.Requested.Invoice.ID != last.Invoice.ID {
		t.Fatalf("the last invoice: %+v, %v", got, err)
	}
}
