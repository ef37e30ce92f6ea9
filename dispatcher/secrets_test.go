package dispatcher

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestALegacyRecordSignsAndIsSealedOnItsNextWrite stores a subscription as
// records were written before secrets were sealed: its secret still signs,
// and the failure streak the dispatcher writes stores it sealed.
func TestALegacyRecordSignsAndIsSealedOnItsNextWrite(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	secret := sub.Secrets[0].Value
	legacy, _ := json.Marshal(sub) // the secret in the clear, as before
	if !strings.Contains(string(legacy), secret) {
		t.Fatalf("not a legacy record: %s", legacy)
	}
	if _, err := f.subs.Put(context.Background(), sub.ID, legacy); err != nil {
		t.Fatal(err)
	}
	f.start(t, Config{Schedule: webhook.Schedule{time.Hour}})
	ev := f.invoiceEvents(t)[0]
	f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryFailing)
	r := rc.requests()[0]
	if err := webhook.Verify(secret, r.header, r.body, time.Now(), time.Minute); err != nil {
		t.Fatalf("signed with the secret in the clear: %v", err)
	}
	natstest.Eventually(t, 10*time.Second, "the failure streak stored, the secret sealed", func() bool {
		s := f.subscription(t, sub.ID)
		return s.FailingSince != nil && s.Secrets[0].Value == "" && s.Secrets[0].Sealed != ""
	})
	if got, err := f.subscription(t, sub.ID).ActiveSecrets(time.Now(), f.keys); err != nil || !slices.Equal(got, []string{secret}) {
		t.Fatalf("sealed secret opens to %v, %v", got, err)
	}
}

// TestASecretThatDoesNotOpenIsNeverSent gives the dispatcher a key file
// other than the one the secret was sealed with: the attempt fails, saying
// why, and nothing reaches the receiver unsigned.
func TestASecretThatDoesNotOpenIsNeverSent(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	other, err := seal.NewRandom()
	if err != nil {
		t.Fatal(err)
	}
	f.start(t, Config{Secrets: other, Schedule: webhook.Schedule{time.Hour}})
	ev := f.invoiceEvents(t)[0]
	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryFailing)
	if len(d.Attempts) != 1 || !strings.Contains(d.Attempts[0].Error, "cannot be opened") ||
		!strings.Contains(d.Attempts[0].Error, f.keys.SealingKeyID()) || strings.Contains(d.Attempts[0].Error, sub.Secrets[0].Value) {
		t.Fatalf("attempts %+v", d.Attempts)
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}
