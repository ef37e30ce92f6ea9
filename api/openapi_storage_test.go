package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/jserr"
	"github.com/nats-io/nats.go/jetstream"
)

// oaMaxStore is all the file storage the full server's JetStream may use:
// room for the streams and fixtures, which the filler then uses up.
const oaMaxStore = 8 << 20

// oaFullFixtures are what the cases on the full server refer to.
type oaFullFixtures struct {
	sub      string // an enabled subscription
	delivery string // its failing delivery
}

// oaSetupFull stores, on e's server, a subscription with a failing
// delivery, then fills the server's storage until JetStream refuses a
// write for want of room, as on a full disk.
func oaSetupFull(t testing.TB, e *oaEnv, f *oaFixtures) oaFullFixtures {
	t.Helper()
	hook := f.hooks + "/hooks/full"
	sub, _ := e.subscribe(t, hook, "")
	inv := e.createInvoice(t, "full-a", `{"customer_id":"cust-full","amount_cents":1}`)
	d := oaDelivery(t, e.requested(t, inv.ID), sub, hook, 500)
	e.putLiveDelivery(t, d)
	oaFill(t, e.js)
	return oaFullFixtures{sub: sub, delivery: d.ID}
}

// oaFill publishes to a stream of its own until JetStream refuses a
// message for want of room, and fails t if it never does.
func oaFill(t testing.TB, js jetstream.JetStream) {
	t.Helper()
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FILLER", Subjects: []string{"filler.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("x", 64<<10))
	for i := range 2 * oaMaxStore / len(chunk) {
		_, err := js.Publish(ctx, fmt.Sprint("filler.", i), chunk)
		switch {
		case jserr.IsInsufficientStorage(err):
			return
		case err != nil:
			t.Fatalf("filling: %v", err)
		}
	}
	t.Fatal(errors.New("JetStream never ran out of room"))
}

// oaStorageCases are the answers to writes on the full server: 507 with
// Retry-After, for every operation that writes.
func oaStorageCases(ff oaFullFixtures, f *oaFixtures) []oaCase {
	full := func(c oaCase) oaCase {
		c.on, c.status = oaFull, http.StatusInsufficientStorage
		return oaWith(c, oaWantHeader("Retry-After", "30"))
	}
	sub := oaSubPath + ff.sub
	since := fmt.Sprintf(`{"since":%q}`, f.since)
	return []oaCase{
		full(oaCreateInvoice("507 no room", "full-b", oaMinimalInvoice, 0)),
		full(oaCase{name: "507 no room", op: "createSubscription", method: http.MethodPost, path: oaSubscriptionsPath, header: oaJSON(),
			body: fmt.Sprintf(`{"url":%q}`, f.hooks+"/hooks/full-new")}),
		full(oaCase{name: "507 no room", op: "updateSubscription", method: http.MethodPatch, path: sub, header: oaJSON(), body: `{"description":"more"}`}),
		full(oaCase{name: "507 no room", op: "rotateSubscriptionSecret", method: http.MethodPost, path: sub + "/rotate-secret"}),
		full(oaCase{name: "507 no room", op: "recoverSubscriptionDeliveries", method: http.MethodPost, path: sub + "/recover", header: oaJSON(), body: since}),
		full(oaCase{name: "507 no room", op: "sendTestEvent", method: http.MethodPost, path: sub + "/test", header: oaJSON(), body: `{}`}),
		full(oaCase{name: "507 no room", op: "retryDelivery", method: http.MethodPost, path: oaDeliveriesPath + "/" + ff.delivery + "/retry"}),
		full(oaCase{name: "507 no room", op: "deleteSubscription", method: http.MethodDelete, path: sub}),
		oaOn(oaWith(oaGet("200 the subscription is still there", "getSubscription", sub, http.StatusOK), oaWant("description", "")), oaFull),
	}
}
