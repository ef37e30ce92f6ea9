package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// hooks records the bodies of the webhooks one receiver gets.
type hooks struct {
	mu  sync.Mutex
	ids []string
}

func (h *hooks) receive(_ http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.ids = append(h.ids, string(body))
	h.mu.Unlock()
}

func (h *hooks) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

func TestAccountsAreApartEndToEnd(t *testing.T) {
	acme1, acme2 := strings.Repeat("a", 32), strings.Repeat("b", 32)
	globex, ops := strings.Repeat("g", 32), strings.Repeat("o", 32)
	keys := filepath.Join(t.TempDir(), "keys")
	text := acme1 + " account=acme\n" + acme2 + " account=acme\n" + globex + " account=globex\n" + ops + " account=ops operator\n"
	if err := os.WriteFile(keys, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := startService(t, serveConfig(t, "", "--api-keys-file", keys))
	base := "http://" + svc.Addr()
	as := func(key string, more ...string) []string {
		return append([]string{"Content-Type", "application/json", "Authorization", "Bearer " + key}, more...)
	}
	acmeHooks, globexHooks := &hooks{}, &hooks{}
	for key, h := range map[string]*hooks{acme1: acmeHooks, globex: globexHooks} {
		recv := httptest.NewServer(http.HandlerFunc(h.receive))
		t.Cleanup(recv.Close)
		if a := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+recv.URL+`","event_types":["invoice.created"]}`, as(key)...); a.Status != http.StatusCreated {
			t.Fatalf("subscribe: %d %s", a.Status, a.Body)
		}
	}
	first := calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, as(acme1, "Idempotency-Key", "inv-1")...)
	again := calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, as(acme2, "Idempotency-Key", "inv-1")...)
	other := calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, as(globex, "Idempotency-Key", "inv-1")...)
	acmeID, globexID := calltest.Field(t, first.Body, "id"), calltest.Field(t, other.Body, "id")
	if calltest.Field(t, again.Body, "id") != acmeID || again.Status != http.StatusCreated || acmeID == globexID {
		t.Fatalf("one account's keys share a scope, two accounts do not: %s / %s / %s", first.Body, again.Body, other.Body)
	}
	natstest.Eventually(t, 20*time.Second, "each account's receiver hears of its own invoice", func() bool {
		return len(acmeHooks.got()) == 1 && len(globexHooks.got()) == 1
	})
	if !strings.Contains(acmeHooks.got()[0], acmeID) || !strings.Contains(globexHooks.got()[0], globexID) {
		t.Fatalf("webhooks crossed accounts: acme got %v, globex %v", acmeHooks.got(), globexHooks.got())
	}
	if a := calltest.Call(t, http.MethodGet, base+"/invoices/"+globexID, "", as(acme1)...); a.Status != http.StatusNotFound {
		t.Errorf("acme reads globex's invoice: %d", a.Status)
	}
	if a := calltest.Call(t, http.MethodGet, base+"/invoices/"+globexID, "", as(ops)...); a.Status != http.StatusOK {
		t.Errorf("the operator reads globex's invoice: %d %s", a.Status, a.Body)
	}
	natstest.Eventually(t, 20*time.Second, "both deliveries recorded and listed", func() bool {
		body := string(calltest.Call(t, http.MethodGet, base+"/webhooks/deliveries", "", as(ops)...).Body)
		return strings.Contains(body, acmeID) && strings.Contains(body, globexID)
	})
	lists := []struct {
		key, path string
		status    int
		has       []string
		hasNot    []string
	}{
		{acme2, "/invoices", 200, []string{acmeID}, []string{globexID}},
		{ops, "/invoices", 200, []string{acmeID, globexID}, nil},
		{ops, "/invoices?account=globex", 200, []string{globexID}, []string{acmeID}},
		{acme1, "/invoices?account=globex", 400, nil, []string{globexID}},
		{globex, "/webhooks/deliveries", 200, []string{globexID}, []string{acmeID}},
		{ops, "/webhooks/deliveries", 200, []string{acmeID, globexID}, nil},
	}
	for _, l := range lists {
		a := calltest.Call(t, http.MethodGet, base+l.path, "", as(l.key)...)
		if a.Status != l.status {
			t.Errorf("%s: %d %s", l.path, a.Status, a.Body)
		}
		for _, id := range l.has {
			if !strings.Contains(string(a.Body), id) {
				t.Errorf("%s lacks %s: %s", l.path, id, a.Body)
			}
		}
		for _, id := range l.hasNot {
			if strings.Contains(string(a.Body), id) {
				t.Errorf("%s shows another account's %s", l.path, id)
			}
		}
	}
	dl := calltest.Call(t, http.MethodGet, base+"/webhooks/deliveries", "", as(acme1)...)
	dlID := calltest.Field(t, []byte(strings.TrimSuffix(strings.TrimPrefix(string(dl.Body), `{"data":[`), `],"has_more":false}`)), "id")
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		path := "/webhooks/deliveries/" + dlID
		if method == http.MethodPost {
			path += "/retry"
		}
		if a := calltest.Call(t, method, base+path, "", as(globex)...); a.Status != http.StatusNotFound {
			t.Errorf("globex %s %s: %d %s", method, path, a.Status, a.Body)
		}
	}
	// The attack that found the hole: one key rotating another's secret.
	subs := calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions", "", as(acme1)...)
	var listed struct{ Data []struct{ ID string } }
	if err := json.Unmarshal(subs.Body, &listed); err != nil || len(listed.Data) != 1 {
		t.Fatalf("acme's subscriptions: %s", subs.Body)
	}
	subID := listed.Data[0].ID
	if a := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions/"+subID+"/rotate-secret", "", as(globex)...); a.Status != http.StatusNotFound {
		t.Fatalf("globex rotates acme's secret: %d %s", a.Status, a.Body)
	}
}
