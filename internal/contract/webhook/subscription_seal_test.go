package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

func keyring(t testing.TB, keys ...[]byte) *seal.Keyring {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{newKey(t)}
	}
	kr, err := seal.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newKey(t testing.TB) []byte {
	t.Helper()
	k, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSecret(t testing.TB) string {
	t.Helper()
	s, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// plainSubscription is a subscription as records were written before
// secrets were sealed.
func plainSubscription(t testing.TB, secrets ...string) webhook.Subscription {
	t.Helper()
	now := time.Now().UTC()
	s := webhook.Subscription{ID: uuid.NewString(), URL: "https://example.com/hook", EventTypes: webhook.EventTypes,
		Status: webhook.StatusEnabled, CreatedAt: now, UpdatedAt: now}
	for _, v := range secrets {
		s.Secrets = append(s.Secrets, webhook.Secret{Value: v, CreatedAt: now})
	}
	return s
}

func TestSealedKeepsNoClearSecretAndOpensForItsOwnRecordOnly(t *testing.T) {
	kr := keyring(t)
	secret := newSecret(t)
	plain := plainSubscription(t, secret)
	sealed, err := plain.Sealed(kr)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Secrets[0].Value != secret || plain.Secrets[0].Sealed != "" {
		t.Fatal("Sealed changed the subscription it was called on")
	}
	data, _ := json.Marshal(sealed)
	if strings.Contains(string(data), secret) || strings.Contains(string(data), webhook.SecretPrefix) || !strings.Contains(string(data), `"sealed":"v1.`) {
		t.Fatalf("stored form %s", data)
	}
	if got, err := sealed.ActiveSecrets(time.Now(), kr); err != nil || !slices.Equal(got, []string{secret}) {
		t.Fatalf("ActiveSecrets = %v, %v", got, err)
	}
	moved := plainSubscription(t)
	moved.Secrets = sealed.Secrets // copied into another record
	if _, err := moved.ActiveSecrets(time.Now(), kr); !errors.Is(err, seal.ErrNotAuthentic) {
		t.Fatalf("a sealed secret moved to another subscription: %v, want ErrNotAuthentic", err)
	}
	other := keyring(t)
	_, err = sealed.ActiveSecrets(time.Now(), other)
	if !errors.Is(err, seal.ErrUnknownKey) || !strings.Contains(err.Error(), kr.SealingKeyID()) || strings.Contains(err.Error(), secret) {
		t.Fatalf("under another key: %v, want ErrUnknownKey naming key %s and no secret", err, kr.SealingKeyID())
	}
	if _, err := sealed.ActiveSecrets(time.Now(), nil); !errors.Is(err, webhook.ErrNoSecretKeys) {
		t.Fatalf("without keys: %v", err)
	}
}

func TestASecretIsNeverWrittenInTheClearBesideItsSealedForm(t *testing.T) {
	data, err := json.Marshal(webhook.Secret{Value: "whsec_abc", Sealed: "v1.00000000.x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "whsec_") {
		t.Fatalf("%s", data)
	}
	var s webhook.Secret
	if err := json.Unmarshal([]byte(`{"value":"whsec_abc","created_at":"2026-01-01T00:00:00Z"}`), &s); err != nil || s.Value != "whsec_abc" {
		t.Fatalf("a record written before sealing does not read: %+v %v", s, err)
	}
}

// bucket is the subscriptions bucket on a real JetStream server, and the
// stream behind it.
func bucket(t testing.TB) (jetstream.KeyValue, jetstream.Stream) {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: webhook.BucketSubscriptions, History: 5, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, webhook.SubscriptionsStream)
	if err != nil {
		t.Fatal(err)
	}
	return kv, stream
}

func put(t testing.TB, kv jetstream.KeyValue, s webhook.Subscription) {
	t.Helper()
	data, _ := json.Marshal(s)
	if _, err := kv.Put(context.Background(), s.ID, data); err != nil {
		t.Fatal(err)
	}
}

func stored(t testing.TB, kv jetstream.KeyValue, id string) webhook.Subscription {
	t.Helper()
	e, err := kv.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var s webhook.Subscription
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// revisions returns every revision the bucket holds of id, as stored.
func revisions(t testing.TB, kv jetstream.KeyValue, id string) []string {
	t.Helper()
	h, err := kv.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range h {
		out = append(out, string(e.Value()))
	}
	return out
}

func TestModifySubscriptionSealsARecordWrittenInTheClear(t *testing.T) {
	kv, _ := bucket(t)
	kr := keyring(t)
	secret := newSecret(t)
	legacy := plainSubscription(t, secret)
	put(t, kv, legacy)
	got, err := webhook.ModifySubscription(context.Background(), kv, legacy.ID, kr, func(s *webhook.Subscription) bool {
		s.Status = webhook.StatusDisabled
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := stored(t, kv, legacy.ID)
	if rec.Status != webhook.StatusDisabled || got.Value.Secrets[0].Value != "" || rec.Secrets[0].Value != "" || rec.Secrets[0].Sealed == "" {
		t.Fatalf("stored %+v", rec)
	}
	if open, err := rec.ActiveSecrets(time.Now(), kr); err != nil || !slices.Equal(open, []string{secret}) {
		t.Fatalf("the sealed secret opens to %v, %v", open, err)
	}
	// An edit that changes nothing writes nothing, so leaves it as it was.
	before := revisions(t, kv, legacy.ID)
	if _, err := webhook.ModifySubscription(context.Background(), kv, legacy.ID, kr, func(*webhook.Subscription) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if after := revisions(t, kv, legacy.ID); len(after) != len(before) {
		t.Fatalf("%d revisions, want %d", len(after), len(before))
	}
}

func TestResealSealsClearSecretsAndRemovesTheirHistory(t *testing.T) {
	kv, stream := bucket(t)
	ctx := context.Background()
	oldKey, newKey := newKey(t), newKey(t)
	old := keyring(t, oldKey)

	s1, s1b := newSecret(t), newSecret(t)
	legacy := plainSubscription(t, s1)
	put(t, kv, legacy)
	legacy.Rotate(webhook.Secret{Value: s1b, CreatedAt: time.Now()}, time.Now(), time.Hour) // a second revision, both secrets in the clear
	put(t, kv, legacy)
	sealedOld, err := plainSubscription(t, newSecret(t)).Sealed(old)
	if err != nil {
		t.Fatal(err)
	}
	put(t, kv, sealedOld)
	deleted := plainSubscription(t, newSecret(t))
	put(t, kv, deleted)
	if err := kv.Delete(ctx, deleted.ID); err != nil { // a delete, not a purge: the record stays in the history
		t.Fatal(err)
	}
	lost, err := plainSubscription(t, newSecret(t)).Sealed(keyring(t)) // under a key no one has
	if err != nil {
		t.Fatal(err)
	}
	put(t, kv, lost)

	rep, err := webhook.Reseal{Bucket: kv, Stream: stream, Keys: old}.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Subscriptions != 3 || rep.Sealed != 1 || rep.Rekeyed != 0 || rep.Purged != 2 {
		t.Fatalf("report %+v", rep)
	}
	if len(rep.Unopenable) != 1 || rep.Unopenable[0].Subscription != lost.ID || !errors.Is(rep.Unopenable[0].Err, seal.ErrUnknownKey) {
		t.Fatalf("unopenable %+v", rep.Unopenable)
	}
	for _, id := range []string{legacy.ID, deleted.ID} {
		for _, rev := range revisions(t, kv, id) {
			if strings.Contains(rev, webhook.SecretPrefix) {
				t.Fatalf("subscription %s keeps a revision in the clear: %s", id, rev)
			}
		}
	}
	if n := len(revisions(t, kv, legacy.ID)); n != 1 {
		t.Fatalf("%d revisions of the sealed record, want 1", n)
	}
	if got, err := stored(t, kv, legacy.ID).ActiveSecrets(time.Now(), old); err != nil || !slices.Equal(got, []string{s1b, s1}) {
		t.Fatalf("after sealing: %v %v", got, err)
	}
	if got := stored(t, kv, sealedOld.ID).Secrets[0].Sealed; got != sealedOld.Secrets[0].Sealed {
		t.Fatal("a secret sealed with the current key was sealed again without Rekey")
	}

	// Rotation: a new key on top, then every record sealed again under it.
	rotated := keyring(t, newKey, oldKey)
	rep, err = webhook.Reseal{Bucket: kv, Stream: stream, Keys: rotated, Rekey: true}.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rekeyed != 2 || rep.Sealed != 0 || len(rep.Unopenable) != 1 {
		t.Fatalf("rekey report %+v", rep)
	}
	only := keyring(t, newKey) // the old key removed
	for _, id := range []string{legacy.ID, sealedOld.ID} {
		if _, err := stored(t, kv, id).ActiveSecrets(time.Now(), only); err != nil {
			t.Fatalf("subscription %s needs the old key after the rekey: %v", id, err)
		}
		if n := len(revisions(t, kv, id)); n != 1 {
			t.Fatalf("subscription %s keeps %d revisions, its old-key ones included", id, n)
		}
	}
	if rep, err := (webhook.Reseal{Bucket: kv, Stream: stream, Keys: only, Rekey: true}).Run(ctx); err != nil || rep.Rekeyed != 0 || rep.Purged != 0 {
		t.Fatalf("a second rekey changed something: %+v %v", rep, err)
	}
}
