package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/config"
	"github.com/invoiced/invoiced/internal/seal"
	"github.com/invoiced/invoiced/internal/webhook"
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
	recv := newSignedReceiver(t)
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
	recv.expect("/legacy", secret)
	postInvoice(t, "http://"+svc.Addr(), "inv-legacy", journeyBody)
	recv.awaitVerified(t, "/legacy", 2)

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

// TestSecretsKeyRotation rotates the key: a new key on top, reloaded as on
// SIGHUP; a reseal with the service stopped; the old key removed. Webhooks
// of subscriptions made under either key verify throughout.
func TestSecretsKeyRotation(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, config.SecretsKeyFileName)
	recv := newSignedReceiver(t)
	svc := startService(t, serveConfig(t, dir))
	base := "http://" + svc.Addr()
	oldKey := svc.secrets.SealingKeyID()
	_, a := subscribeTo(t, base, recv.URL+"/a")
	recv.expect("/a", a)

	var out, errOut bytes.Buffer
	secrets := func(args ...string) error {
		out.Reset()
		errOut.Reset()
		return Run(context.Background(), append([]string{"secrets"}, args...), &out, &errOut, func(string) string { return "" })
	}
	if err := secrets("add-key", "--data", dir); err != nil {
		t.Fatalf("add-key: %v %s", err, errOut.String())
	}
	ids, err := svc.ReloadSecretsKeys()
	if err != nil || len(ids) != 2 || ids[1] != oldKey || !strings.Contains(out.String(), ids[0]) {
		t.Fatalf("reload after add-key: %v %v (%s)", ids, err, out.String())
	}
	newKey := ids[0]
	_, b := subscribeTo(t, base, recv.URL+"/b")
	recv.expect("/b", b)
	postInvoice(t, base, "inv-during", journeyBody)
	recv.awaitVerified(t, "/a", 2) // sealed with the old key
	recv.awaitVerified(t, "/b", 2) // with the new one
	stopService(t, svc)

	if err := secrets("reseal", "--data", dir); err != nil {
		t.Fatalf("reseal: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "1 sealed again under key "+newKey) || !strings.Contains(out.String(), "may leave") {
		t.Fatalf("reseal said: %s", out.String())
	}
	keepOnlyFirstKey(t, keyFile)

	svc = startService(t, serveConfig(t, dir))
	if got := svc.secrets.KeyIDs(); len(got) != 1 || got[0] != newKey {
		t.Fatalf("keys after the old one left: %v", got)
	}
	postInvoice(t, "http://"+svc.Addr(), "inv-after", journeyBody)
	recv.awaitVerified(t, "/a", 4)
	recv.awaitVerified(t, "/b", 4)

	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ReloadSecretsKeys(); err == nil || svc.secrets.SealingKeyID() != newKey {
		t.Fatalf("a loose key file reloaded: %v; keys %v", err, svc.secrets.KeyIDs())
	}
}

// keepOnlyFirstKey removes every key but the first from the key file, as
// an operator does once nothing needs the older ones.
func keepOnlyFirstKey(t testing.TB, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	seen := false
	for _, line := range strings.Split(string(data), "\n") {
		isKey := line != "" && !strings.HasPrefix(line, "#")
		if isKey && seen {
			continue
		}
		seen = seen || isKey
		kept = append(kept, line)
	}
	if err := os.WriteFile(path, []byte(strings.Join(kept, "\n")), seal.FileMode); err != nil {
		t.Fatal(err)
	}
}

// TestSecretsInitMakesTheKeyFileOnce makes a named key file, leaves it as it
// is the second time, and refuses a loose one, as a start would.
func TestSecretsInitMakesTheKeyFileOnce(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "secrets.key")
	var out bytes.Buffer
	run := func() error {
		out.Reset()
		return Run(context.Background(), []string{"secrets", "init", "--secrets-key-file", keyFile}, &out, &out, func(string) string { return "" })
	}
	if err := run(); err != nil || !strings.Contains(out.String(), "made "+keyFile) {
		t.Fatalf("first init: %v %s", err, out.String())
	}
	first, err := seal.ReadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil || !strings.Contains(out.String(), "left as it is") {
		t.Fatalf("second init: %v %s", err, out.String())
	}
	if again, _ := seal.ReadKeyFile(keyFile); again.SealingKeyID() != first.SealingKeyID() {
		t.Fatal("a second init changed the key")
	}
	svc := startService(t, serveConfig(t, "", "--secrets-key-file", keyFile))
	if svc.secrets.SealingKeyID() != first.SealingKeyID() {
		t.Fatalf("the service seals with %s, not the file's %s", svc.secrets.SealingKeyID(), first.SealingKeyID())
	}
	if err := os.Chmod(keyFile, 0o604); err != nil {
		t.Fatal(err)
	}
	if err := run(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("init of a loose file: %v", err)
	}
}
