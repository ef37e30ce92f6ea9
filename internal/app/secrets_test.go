package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/testing/calltest"
)

func rotateSecret(t testing.TB, base, id string) string {
	t.Helper()
	a := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions/"+id+"/rotate-secret", "")
	if a.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", a.Status, a.Body)
	}
	return calltest.Field(t, a.Body, "secret")
}

// secretForms returns what a secret may rest as: the whole string, the
// base64 after the prefix, and the HMAC key it decodes to.
func secretForms(t testing.TB, secret string) map[string][]byte {
	t.Helper()
	b64 := strings.TrimPrefix(secret, webhook.SecretPrefix)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < 16 {
		t.Fatalf("secret %q…: %v", secret[:10], err)
	}
	return map[string][]byte{"whole": []byte(secret), "base64": []byte(b64), "key": raw}
}

// filesHolding returns every file under dir holding one of needles, with
// what it holds.
func filesHolding(t testing.TB, dir string, needles map[string][]byte) []string {
	t.Helper()
	var found []string
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for name, needle := range needles {
			if bytes.Contains(data, needle) {
				found = append(found, strings.TrimPrefix(path, dir)+" holds "+name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d files under %s: not the service's data directory", files, dir)
	}
	return found
}

// TestSigningSecretsNeverRestInTheClear creates subscriptions, rotates a
// secret, changes and deletes a subscription, restarts, and checks that
// webhooks still verify with the secrets the API revealed while no file
// under the data directory, JetStream's block files included, holds any of
// them, nor any whsec_ secret; and that the log holds none either.
func TestSigningSecretsNeverRestInTheClear(t *testing.T) {
	dir := t.TempDir()
	logs := &calltest.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	start := func() *Service {
		svc, err := Start(context.Background(), serveConfig(t, dir, "--log-level", "debug", "--webhook-retry-schedule", "100ms"), log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopService(t, svc) })
		return svc
	}
	recv := calltest.NewSignedReceiver(t)
	svc := start()
	base := "http://" + svc.Addr()
	if info, err := os.Stat(filepath.Join(dir, config.SecretsKeyFileName)); err != nil || info.Mode().Perm() != seal.FileMode {
		t.Fatalf("the key file made on first start: %v %v", info, err)
	}
	idA, a1 := calltest.Subscribe(t, base, recv.URL+"/a")
	a2 := rotateSecret(t, base, idA)
	idB, b := calltest.Subscribe(t, base, recv.URL+"/b")
	if a := calltest.Call(t, http.MethodPatch, base+"/webhooks/subscriptions/"+idB, `{"description":"patched"}`, "Content-Type", "application/json"); a.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", a.Status, a.Body)
	}
	idC, c := calltest.Subscribe(t, base, recv.URL+"/c")
	if a := calltest.Call(t, http.MethodDelete, base+"/webhooks/subscriptions/"+idC, ""); a.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.Status, a.Body)
	}
	stopService(t, svc)

	svc = start()
	base = "http://" + svc.Addr()
	recv.Expect("/a", a2) // the rotated secret; the first still signs beside it for the overlap
	recv.Expect("/b", b)
	calltest.PostInvoice(t, base, "inv-secrets", calltest.InvoiceBody)
	recv.AwaitVerified(t, "/a", 2) // invoice.created and invoice.processed
	recv.AwaitVerified(t, "/b", 2)
	stopService(t, svc)

	needles := map[string][]byte{"a whsec_ secret": []byte(webhook.SecretPrefix)}
	for name, secret := range map[string]string{"A's first secret": a1, "A's rotated secret": a2, "B's secret": b, "deleted C's secret": c} {
		for form, needle := range secretForms(t, secret) {
			needles[name+" ("+form+")"] = needle
		}
	}
	if found := filesHolding(t, dir, needles); len(found) > 0 {
		t.Fatalf("secrets at rest in the clear:\n%s", strings.Join(found, "\n"))
	}
	for name, needle := range needles {
		if strings.Contains(logs.String(), string(needle)) {
			t.Fatalf("the log holds %s", name)
		}
	}
}

func TestStartRefusesABadSecretsKeyFile(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "secrets.key")
	good, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"readable by others", "# k\n" + base64.StdEncoding.EncodeToString(good) + "\n", 0o644, "chmod 600"},
		{"readable by its group", base64.StdEncoding.EncodeToString(good) + "\n", 0o640, "chmod 600"},
		{"malformed", "not a key\n", 0o600, "line 1 is not a key"},
		{"empty", "# nothing\n", 0o600, "no key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(key, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(key, tt.mode); err != nil { // whatever the umask
				t.Fatal(err)
			}
			svc, err := Start(context.Background(), serveConfig(t, "", "--secrets-key-file", key), slog.New(slog.DiscardHandler))
			if err == nil {
				stopService(t, svc)
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(good)) {
				t.Fatalf("Start = %v, want it to say %q and never show the key", err, tt.want)
			}
		})
	}
	missing := filepath.Join(dir, "missing.key")
	_, err = Start(context.Background(), serveConfig(t, "", "--secrets-key-file", missing), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "secrets init") {
		t.Fatalf("a named key file that is missing: %v, want it refused with how to make one", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("a key file named on purpose was made up")
	}
}
