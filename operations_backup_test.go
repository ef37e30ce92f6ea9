package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/testing/faults"
)

// TestOperationsBackupAndRestore runs docs/OPERATIONS.md's backup against
// a live all-in-one service with API keys (so a locked embedded NATS
// server) while clients keep creating invoices, with a history of two
// segments, delivered webhooks and failing ones; restores the backup with
// the document's restore into a fresh data directory; starts the service
// there and checks that every invoice made before the backup answers as
// it did, every Idempotency-Key replays, an invoice made during the
// backup is there whole or not at all, nothing is listed twice, the
// delivery log holds what it held, and the subscription's webhooks still
// verify with the secret it was given before the backup.
func TestOperationsBackupAndRestore(t *testing.T) {
	scripts := newOpsScripts(t)
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "api-keys")
	key := "ops-backup-restore-key-0123456789abcdef"
	if err := os.WriteFile(keysFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := func(data, natsAddr string) (*proc, opsAPI) {
		p := startProc(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", data, "--nats-listen", natsAddr,
			"--api-keys-file", keysFile, "--max-amount-cents", "10000")
		api := opsAPI{base: p.base, key: key}
		api.awaitReady(t)
		return p, api
	}

	oldData, oldNATS := filepath.Join(dir, "old"), faults.FreeAddr(t)
	oldProc, old := serve(oldData, oldNATS)
	js := connectLocked(t, "nats://"+oldNATS, filepath.Join(oldData, "nats-user.nk"))

	hooks := startOpsReceiver(t)
	status, _, body := old.do(t, http.MethodPost, "/webhooks/subscriptions", `{"url":"`+hooks.url+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", status, body)
	}
	subID := jsonField(t, body, "id")
	hooks.setSecret(t, jsonField(t, body, "secret"))
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(refusing.Close)
	if status, _, body := old.do(t, http.MethodPost, "/webhooks/subscriptions",
		`{"url":"`+refusing.URL+`/hook","event_types":["invoice.failed"]}`); status != http.StatusCreated {
		t.Fatalf("subscribe the refusing endpoint: %d %s", status, body)
	}

	// Invoices in the first segment, then in the second: every fifth fails
	// for its amount, and its webhook fails at the refusing endpoint.
	var made []opsInvoice
	createSettled := func(prefix string, n int) {
		for i := range n {
			amount := 1000 + i
			if i%5 == 4 {
				amount = 50000
			}
			made = append(made, old.create(t, fmt.Sprintf("%s-%d", prefix, i), amount))
		}
		for i := range made {
			old.settle(t, &made[i])
		}
	}
	createSettled("first", 10)
	waitFor(t, 30*time.Second, "the first segment holds every event", func() (bool, string) {
		info, err := js.Stream(context.Background(), history.SegmentName(1))
		if err != nil {
			return false, err.Error()
		}
		return info.CachedInfo().State.Msgs >= 20, fmt.Sprintf("%d messages", info.CachedInfo().State.Msgs)
	})
	sealSegment(t, js, history.SegmentName(1))
	waitFor(t, 30*time.Second, "the service starts the next segment", func() (bool, string) {
		names := streamNames(t, js)
		return slices.Contains(names, history.SegmentName(2)), strings.Join(names, " ")
	})
	createSettled("second", 5)

	failed := 0
	for _, inv := range made {
		if inv.status == "failed" {
			failed++
		}
	}
	var delivered, failing []string
	waitFor(t, 30*time.Second, "every webhook delivered or failing", func() (bool, string) {
		delivered, failing = old.deliveries(t, "status=delivered"), old.deliveries(t, "status=failing")
		return len(delivered) == 2*len(made) && len(failing) == failed,
			fmt.Sprintf("%d delivered of %d, %d failing of %d", len(delivered), 2*len(made), len(failing), failed)
	})

	settings := map[string]string{
		"DATA": oldData, "SECRETS_KEY_FILE": filepath.Join(oldData, "secrets.key"),
		"NATS_URL": "nats://" + oldNATS, "NATS_NKEY": filepath.Join(oldData, "nats-user.nk"),
	}
	for i, want := range [][]string{
		{"INVOICES", "WEBHOOKS", history.SegmentName(1), history.SegmentName(2)},
		{"KV_webhook_deliveries", "KV_webhook_subscriptions", history.SegmentName(2)},
		{filepath.Join(oldData, "jetstream"), filepath.Join(oldData, "readmodel.db")},
	} {
		out := scripts.run(t, "where to look", growthRecipes[i:i+1], settings)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s shows no %s:\n%s", growthRecipes[i], w, out)
			}
		}
	}

	// The backup, online: clients keep creating invoices throughout.
	load := startOnlineLoad(old)
	waitFor(t, 30*time.Second, "the clients under way", func() (bool, string) { return load.count() >= 20, "" })
	ackedBefore := load.count()
	backupDir, keysDir := filepath.Join(dir, "backup", "streams"), filepath.Join(dir, "keys")
	settings["BACKUP"], settings["KEYS"] = backupDir, keysDir
	printed := scripts.run(t, "backup", backupScript, settings)
	t.Logf("backup:\n%s", printed)
	online := load.finish(t)
	if len(online) == ackedBefore {
		t.Errorf("no invoice was created while the backup ran (%d before it): the backup was not online", ackedBefore)
	}

	backedUp, err := os.ReadDir(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range backedUp {
		dirs = append(dirs, e.Name())
	}
	if streams := streamNames(t, js); !slices.Equal(dirs, streams) {
		t.Errorf("the backup holds %q; the service has the streams %q", dirs, streams)
	}
	for _, name := range []string{"secrets.key", "nats-user.nk"} {
		want, _ := os.ReadFile(filepath.Join(oldData, name))
		got, err := os.ReadFile(filepath.Join(keysDir, name))
		info, statErr := os.Stat(filepath.Join(keysDir, name))
		if err != nil || statErr != nil || !bytes.Equal(got, want) || info.Mode().Perm() != 0o600 {
			t.Errorf("%s kept apart: %v %v, mode %v, same content %v", name, err, statErr, info.Mode(), bytes.Equal(got, want))
		}
	}
	oldProc.stop(t, syscall.SIGTERM)

	// The restore, into a fresh data directory, by a shell that still has
	// the backup's settings.
	newData := filepath.Join(dir, "new")
	printed = scripts.run(t, "restore", restoreScript, map[string]string{
		"DATA": newData, "SECRETS_KEY_FILE": filepath.Join(newData, "secrets.key"),
		"BACKUP": backupDir, "KEYS": keysDir, "RESTORE_PORT": strings.TrimPrefix(faults.FreeAddr(t), "127.0.0.1:"),
		"NATS_URL": "nats://" + oldNATS, "NATS_NKEY": filepath.Join(oldData, "nats-user.nk"),
	})
	t.Logf("restore:\n%s", printed)
	if !strings.Contains(printed, "holds the history up to message") {
		t.Errorf("invoiced rebuild did not say how far it got:\n%s", printed)
	}
	_, restored := serve(newData, faults.FreeAddr(t))

	t.Run("every invoice made before the backup", func(t *testing.T) {
		for _, inv := range made {
			status, _, body := restored.do(t, http.MethodGet, "/invoices/"+inv.id, "")
			if status != http.StatusOK || !sameJSON(body, inv.got) {
				t.Errorf("GET %s (%s): %d %s\nbefore the backup: %s", inv.id, inv.key, status, body, inv.got)
			}
		}
	})
	t.Run("every Idempotency-Key replays", func(t *testing.T) {
		for _, inv := range made {
			checkReplay(t, restored, inv)
		}
		for _, inv := range online[:ackedBefore] {
			checkReplay(t, restored, inv)
		}
	})
	t.Run("invoices made during the backup", func(t *testing.T) {
		present := 0
		for _, inv := range online[ackedBefore:] {
			status, _, body := restored.do(t, http.MethodGet, "/invoices/"+inv.id, "")
			switch status {
			case http.StatusNotFound:
				continue
			case http.StatusOK:
				present++
				inv := inv
				restored.settle(t, &inv)
				checkReplay(t, restored, inv)
			default:
				t.Errorf("GET %s: %d %s", inv.id, status, body)
			}
		}
		t.Logf("%d invoices acknowledged before the backup began, %d while it ran, %d of them restored",
			ackedBefore, len(online)-ackedBefore, present)
	})
	t.Run("nothing listed twice", func(t *testing.T) {
		ids := restored.invoiceIDs(t)
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("invoice %s listed twice", id)
			}
			seen[id] = true
		}
		for _, inv := range append(slices.Clone(made), online[:ackedBefore]...) {
			if !seen[inv.id] {
				t.Errorf("invoice %s (%s) not listed", inv.id, inv.key)
			}
		}
	})
	t.Run("the delivery log", func(t *testing.T) {
		if got := restored.deliveries(t, "status=delivered"); !containsAll(got, delivered) {
			t.Errorf("%d delivered deliveries listed, without all %d delivered before the backup", len(got), len(delivered))
		}
		if got := restored.deliveries(t, "status=failing"); !containsAll(got, failing) {
			t.Errorf("failing deliveries %q, want %q among them", got, failing)
		}
	})
	t.Run("webhooks verify with the old secret", func(t *testing.T) {
		if status, _, body := restored.do(t, http.MethodGet, "/webhooks/subscriptions/"+subID, ""); status != http.StatusOK {
			t.Fatalf("GET the subscription: %d %s", status, body)
		}
		inv := restored.create(t, "after-restore", 4200)
		waitFor(t, 30*time.Second, "both webhooks of the new invoice", func() (bool, string) {
			types, unverified := hooks.got(inv.id)
			return slices.Contains(types, "invoice.created") && slices.Contains(types, "invoice.processed"),
				fmt.Sprintf("accepted %q, %d did not verify", types, unverified)
		})
		if _, unverified := hooks.got(inv.id); unverified > 0 {
			t.Errorf("%d webhooks did not verify with the subscription's secret", unverified)
		}
	})
}

// checkReplay posts inv's request again and requires the replay of the
// same invoice.
func checkReplay(tb testing.TB, api opsAPI, inv opsInvoice) {
	tb.Helper()
	status, header, body := api.do(tb, http.MethodPost, "/invoices", inv.body, "Idempotency-Key", inv.key)
	var got struct{ ID string }
	_ = json.Unmarshal(body, &got)
	if status != http.StatusCreated || header.Get("Idempotent-Replayed") != "true" || got.ID != inv.id {
		tb.Errorf("POST again with key %s: %d, Idempotent-Replayed %q, %s; want 201, true, invoice %s",
			inv.key, status, header.Get("Idempotent-Replayed"), body, inv.id)
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// containsAll reports whether have holds every element of want.
func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
