package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/testing/calltest"
)

// TestSecretsKeyRotation rotates the key: a new key on top, reloaded as on
// SIGHUP; a reseal with the service stopped; the old key removed. Webhooks
// of subscriptions made under either key verify throughout.
func TestSecretsKeyRotation(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, config.SecretsKeyFileName)
	recv := calltest.NewSignedReceiver(t)
	svc := startService(t, serveConfig(t, dir))
	base := "http://" + svc.Addr()
	oldKey := svc.SecretsKeyIDs()[0]
	_, a := calltest.Subscribe(t, base, recv.URL+"/a")
	recv.Expect("/a", a)

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
	_, b := calltest.Subscribe(t, base, recv.URL+"/b")
	recv.Expect("/b", b)
	calltest.PostInvoice(t, base, "inv-during", calltest.InvoiceBody)
	recv.AwaitVerified(t, "/a", 2) // sealed with the old key
	recv.AwaitVerified(t, "/b", 2) // with the new one
	stopService(t, svc)

	if err := secrets("reseal", "--data", dir); err != nil {
		t.Fatalf("reseal: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "1 sealed again under key "+newKey) || !strings.Contains(out.String(), "may leave") {
		t.Fatalf("reseal said: %s", out.String())
	}
	keepOnlyFirstKey(t, keyFile)

	svc = startService(t, serveConfig(t, dir))
	if got := svc.SecretsKeyIDs(); len(got) != 1 || got[0] != newKey {
		t.Fatalf("keys after the old one left: %v", got)
	}
	calltest.PostInvoice(t, "http://"+svc.Addr(), "inv-after", calltest.InvoiceBody)
	recv.AwaitVerified(t, "/a", 4)
	recv.AwaitVerified(t, "/b", 4)

	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ReloadSecretsKeys(); err == nil || svc.SecretsKeyIDs()[0] != newKey {
		t.Fatalf("a loose key file reloaded: %v; keys %v", err, svc.SecretsKeyIDs())
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
	if svc.SecretsKeyIDs()[0] != first.SealingKeyID() {
		t.Fatalf("the service seals with %s, not the file's %s", svc.SecretsKeyIDs()[0], first.SealingKeyID())
	}
	if err := os.Chmod(keyFile, 0o604); err != nil {
		t.Fatal(err)
	}
	if err := run(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("init of a loose file: %v", err)
	}
}
