package api_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// oaSetupRetryRefusals stores a dead delivery of the disabled subscription
// and one of the subscription the replay deletes, which retryDelivery
// refuses.
func oaSetupRetryRefusals(t testing.TB, e *oaEnv, f *oaFixtures) {
	t.Helper()
	d, err := e.model.Delivery(context.Background(), f.failing)
	if err != nil {
		t.Fatal(err)
	}
	f.offDelivery = e.settleDead(t, d, f.disabledSub)
	f.goneDelivery = e.settleDead(t, d, f.deleteSub)
}

// oaSetupUnreadableSubscription stores, on the corrupt server, a dead
// delivery of the subscription whose record is unreadable.
func oaSetupUnreadableSubscription(t testing.TB, e *oaEnv, f *oaFixtures, invoiceID string) {
	t.Helper()
	d := oaDelivery(t, e.requested(t, invoiceID), f.badSub, f.hooks+"/hooks/corrupt", 500)
	f.badSubDelivery = e.settleDead(t, d, f.badSub)
}

// settleDead stores a copy of d, with an ID of its own, as a dead delivery
// of subscription subID, waits for the read model to hold it and returns
// its ID.
func (e *oaEnv) settleDead(t testing.TB, d webhook.Delivery, subID string) string {
	t.Helper()
	d.ID, d.SubscriptionID, d.Status, d.NextAttemptAt = uuid.NewString(), subID, webhook.DeliveryDead, nil
	e.settleDelivery(t, d)
	natstest.Eventually(t, 5*time.Second, "the read model holds the dead delivery", func() bool {
		got, err := e.model.Delivery(context.Background(), d.ID)
		return err == nil && bytes.Equal(got.Version(), d.Version())
	})
	return d.ID
}
