package app

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jetStreamOf connects to svc's embedded server until the test ends.
func jetStreamOf(t testing.TB, svc *Service) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(svc.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// bucketOf connects to svc's embedded server and returns the subscriptions
// bucket.
func bucketOf(t testing.TB, svc *Service) jetstream.KeyValue {
	t.Helper()
	kv, err := jetStreamOf(t, svc).KeyValue(context.Background(), webhook.BucketSubscriptions)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestARecordWrittenInTheClearIsSealedAtStart stores a subscription as it
// was stored before secrets were sealed, in two revisions, and restarts:
// the api role's pass at start seals it and removes the revisions that held
// the secret, and its webhooks are signed with that secret still.
func TestARecordWrittenInTheClearIsSealedAtStart(t *testing.T) {
	dir := t.TempDir()
	recv := calltest.NewSignedReceiver(t)
	svc := startService(t, serveConfig(t, dir, "--nats-listen", "127.0.0.1:0"))
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Add(-time.Minute)
	legacy := webhook.Subscription{ID: uuid.NewString(), URL: recv.URL + "/legacy", EventTypes: webhook.EventTypes,
		Status: webhook.StatusEnabled, Secrets: []webhook.Secret{{Value: secret, CreatedAt: now}}, CreatedAt: now, UpdatedAt: now}
	kv := bucketOf(t, svc)
	for _, desc := range []string{"first", "second"} {
		legacy.Description = desc
		data, _ := json.Marshal(legacy)
		if !bytes.Contains(data, []byte(`"value":"`+secret+`"`)) {
			t.Fatalf("not the old form: %s", data)
		}
		if _, err := kv.Put(context.Background(), legacy.ID, data); err != nil {
			t.Fatal(err)
		}
	}
	stopService(t, svc)

	svc = startService(t, serveConfig(t, dir, "--nats-listen", "127.0.0.1:0"))
	recv.Expect("/legacy", secret)
	calltest.PostInvoice(t, "http://"+svc.Addr(), "inv-legacy", calltest.InvoiceBody)
	recv.AwaitVerified(t, "/legacy", 2)

	history, err := bucketOf(t, svc).History(context.Background(), legacy.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 1 {
		t.Fatalf("%d revisions kept, want the sealed one only", len(history))
	}
	var stored webhook.Subscription
	if err := json.Unmarshal(history[0].Value(), &stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(history[0].Value(), []byte(webhook.SecretPrefix)) || stored.Secrets[0].Sealed == "" || stored.Description != "second" {
		t.Fatalf("stored %s", history[0].Value())
	}
	if got, err := stored.ActiveSecrets(time.Now(), svc.secrets); err != nil || len(got) != 1 || got[0] != secret {
		t.Fatalf("the sealed secret opens to %v, %v", got, err)
	}
}
