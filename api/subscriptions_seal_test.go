package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// TestSecretsAreStoredSealed creates and rotates a secret and finds neither
// in any revision the bucket holds, while both open with the keyring.
func TestSecretsAreStoredSealed(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.subscribe(t, `{"url":"http://127.0.0.1:9000/webhook"}`)
	r := e.do(t, http.MethodPost, "/webhooks/subscriptions/"+s.ID+"/rotate-secret", nil)
	var rotated subscription
	r.json(t, &rotated)
	if r.status != http.StatusOK {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	history, err := e.subs.History(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, rev := range history {
		for _, secret := range []string{s.Secret, rotated.Secret} {
			if strings.Contains(string(rev.Value()), webhook.SecretPrefix) || strings.Contains(string(rev.Value()), strings.TrimPrefix(secret, webhook.SecretPrefix)) {
				t.Fatalf("revision %d holds a secret in the clear: %s", rev.Revision(), rev.Value())
			}
		}
	}
	if got := e.activeSecrets(t, s.ID, time.Now()); !slices.Equal(got, []string{rotated.Secret, s.Secret}) {
		t.Fatalf("opened %v", got)
	}
}

// TestALegacyRecordIsSealedOnItsNextWrite stores a subscription as records
// were written before secrets were sealed, and PATCHes it.
func TestALegacyRecordIsSealedOnItsNextWrite(t *testing.T) {
	e := newEnv(t, envOptions{})
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	legacy := fmt.Sprintf(`{"id":%q,"url":"http://127.0.0.1:9000/webhook","event_types":["invoice.created"],"description":"",`+
		`"status":"enabled","secrets":[{"value":%q,"created_at":%q}],"created_at":%[3]q,"updated_at":%[3]q}`,
		uuid.NewString(), secret, now.Format(time.RFC3339Nano))
	var id struct{ ID string }
	_ = json.Unmarshal([]byte(legacy), &id)
	if _, err := e.subs.Put(context.Background(), id.ID, []byte(legacy)); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, http.MethodPatch, "/webhooks/subscriptions/"+id.ID, []byte(`{"description":"sealed now"}`), "Content-Type", "application/json")
	if r.status != http.StatusOK || strings.Contains(string(r.body), webhook.SecretPrefix) {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	rec := e.stored(t, id.ID)
	if rec.Description != "sealed now" || rec.Secrets[0].Value != "" || rec.Secrets[0].Sealed == "" {
		t.Fatalf("stored %+v", rec)
	}
	if got := e.activeSecrets(t, id.ID, time.Now()); !slices.Equal(got, []string{secret}) {
		t.Fatalf("the sealed secret opens to %v", got)
	}
}
