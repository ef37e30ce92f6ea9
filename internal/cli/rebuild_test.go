package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/testing/calltest"
)

// TestRebuildRestoresTheReadModel builds a read model, then rebuilds it
// with invoiced rebuild, and again from nothing at a start with the file
// deleted; each time the lists and reads answer as before, byte for byte.
func TestRebuildRestoresTheReadModel(t *testing.T) {
	dir := t.TempDir()
	cfg := serveConfig(t, dir, "--max-amount-cents", "5000")
	svc := startService(t, cfg)
	base := "http://" + svc.Addr()
	recv := calltest.NewReceiver(t)
	if sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+recv.URL+`"}`,
		"Content-Type", "application/json"); sub.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", sub.Status, sub.Body)
	}
	var ids []string
	for i, body := range []string{calltest.InvoiceBody, `{"customer_id":"cust_123","amount_cents":9000,"currency":"USD"}`, calltest.InvoiceBody} {
		a := calltest.PostInvoice(t, base, "rebuild-"+string(rune('a'+i)), body)
		if a.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", a.Status, a.Body)
		}
		ids = append(ids, calltest.Field(t, a.Body, "id"))
	}
	calltest.AwaitStatus(t, base, ids[1], "failed")
	recv.AwaitTotal(t, 6) // created and an outcome for each
	awaitAttemptsLogged(t, base, 6)
	paths := []string{"/invoices", "/invoices?customer_id=cust_123&status=processed", "/webhooks/deliveries?limit=100",
		"/webhooks/deliveries?status=delivered&limit=2", "/invoices/" + ids[1]}
	want := readAll(t, base, paths)

	if _, err := rebuildRun(dir); err == nil || !strings.Contains(err.Error(), "in use by another invoiced process") {
		t.Fatalf("rebuild while the service runs: %v, want the read model in use", err)
	}
	stopService(t, svc)
	if out, err := rebuildRun(dir); err != nil || !strings.Contains(out, "holds the history up to message") {
		t.Fatalf("rebuild: %v, printed %q", err, out)
	}
	svc = startService(t, cfg)
	checkSameAnswers(t, "after invoiced rebuild", readAll(t, "http://"+svc.Addr(), paths), want)

	stopService(t, svc)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(dir, readmodel.FileName+suffix)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	svc = startService(t, cfg)
	checkSameAnswers(t, "after deleting the read model", readAll(t, "http://"+svc.Addr(), paths), want)
}

// rebuildRun runs invoiced rebuild on dir and returns what it printed.
func rebuildRun(dir string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"rebuild", "--data", dir}, &stdout, &stderr, func(string) string { return "" })
	return stdout.String(), err
}

// readAll GETs each path and returns the answers.
func readAll(t testing.TB, base string, paths []string) map[string]calltest.Answer {
	t.Helper()
	got := map[string]calltest.Answer{}
	for _, p := range paths {
		got[p] = calltest.Call(t, http.MethodGet, base+p, "")
	}
	return got
}

// checkSameAnswers fails unless got has want's statuses and bodies.
func checkSameAnswers(t testing.TB, when string, got, want map[string]calltest.Answer) {
	t.Helper()
	for p, w := range want {
		if g := got[p]; g.Status != w.Status || !bytes.Equal(g.Body, w.Body) {
			t.Errorf("%s, GET %s: %d %s\nwant %d %s", when, p, g.Status, g.Body, w.Status, w.Body)
		}
	}
}
