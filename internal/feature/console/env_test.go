package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/app"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// env is a running invoiced service, every role on an embedded JetStream
// server, and a webhook receiver that answers with the status it is set to.
type env struct {
	t      testing.TB
	base   string
	apiKey string
	recv   *receiver
}

// receiver is a webhook endpoint whose answer the test sets.
type receiver struct {
	srv    *httptest.Server
	status atomic.Int32
}

// receiverBody is what the receiver answers, markup and all.
const receiverBody = "receiver says <b>hi</b>"

// newEnv starts a service with the test flags plus args, and a receiver
// answering 200; the first --api-keys key, if any, is the env's key.
func newEnv(t testing.TB, args ...string) *env {
	t.Helper()
	rc := &receiver{}
	rc.status.Store(http.StatusOK)
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(int(rc.status.Load()))
		_, _ = io.WriteString(w, receiverBody)
	}))
	t.Cleanup(rc.srv.Close)
	flags := []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--nats-listen", "off", "--webhook-retry-schedule", "100ms"}
	cfg, err := config.ParseServe(append(flags, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	e := &env{t: t, base: "http://" + svc.Addr(), recv: rc}
	if len(cfg.APIKeys) > 0 {
		e.apiKey = cfg.APIKeys[0]
	}
	return e
}

// keysFile writes lines to an API keys file and returns the flags that
// hand it to the service.
func keysFile(t testing.TB, lines ...string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--api-keys-file", path}
}

// api calls the service's API directly with the env's key and decodes a
// JSON answer into out (when not nil); it returns the status.
func (e *env) api(method, path, body string, out any) int {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("key-%d", time.Now().UnixNano()))
	if e.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.apiKey)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %s: %v", method, path, data, err)
		}
	}
	return res.StatusCode
}

// subscribe subscribes the receiver to every event type and returns the
// subscription's ID.
func (e *env) subscribe() string {
	e.t.Helper()
	var sub struct{ ID string }
	if status := e.api(http.MethodPost, "/webhooks/subscriptions", `{"url":"`+e.recv.srv.URL+`/hook"}`, &sub); status != http.StatusCreated {
		e.t.Fatalf("subscribe: %d", status)
	}
	return sub.ID
}

// invoice creates an invoice for customer and returns its ID.
func (e *env) invoice(customer string) string {
	e.t.Helper()
	var inv struct{ ID string }
	body := `{"customer_id":"` + customer + `","amount_cents":2500,"currency":"USD"}`
	if status := e.api(http.MethodPost, "/invoices", body, &inv); status != http.StatusCreated {
		e.t.Fatalf("invoice: %d", status)
	}
	return inv.ID
}

// apiDelivery is a delivery as the API lists it.
type apiDelivery struct {
	ID        string `json:"id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Attempts  []struct {
		Number     int    `json:"number"`
		HTTPStatus int    `json:"http_status"`
		Trigger    string `json:"trigger"`
	} `json:"attempts"`
}

// deliveries lists deliveries through the API with query.
func (e *env) deliveries(query string) []apiDelivery {
	e.t.Helper()
	var page struct{ Data []apiDelivery }
	if status := e.api(http.MethodGet, "/webhooks/deliveries?"+query, "", &page); status != http.StatusOK {
		e.t.Fatalf("deliveries: %d", status)
	}
	return page.Data
}

// awaitDeliveries waits until query lists n deliveries and returns them.
func (e *env) awaitDeliveries(query string, n int) []apiDelivery {
	e.t.Helper()
	var got []apiDelivery
	natstest.Eventually(e.t, 20*time.Second, fmt.Sprintf("%d deliveries for %q", n, query), func() bool {
		got = e.deliveries(query)
		return len(got) == n
	})
	return got
}

// page is one answer of the console.
type page struct {
	status int
	header http.Header
	body   string
}

// browser is a browser without JavaScript: it keeps cookies, follows no
// redirect by itself, and posts forms with the CSRF token of the last page
// it loaded, from the console's own origin.
type browser struct {
	t      testing.TB
	base   string
	client *http.Client
	csrf   string
}

func (e *env) browser() *browser {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, base: e.base, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// get loads path and remembers its CSRF token.
func (b *browser) get(path string) page {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

// post submits form to path with the last page's token, as the console's
// own page would.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	form = cloneForm(form)
	if !form.Has("csrf_token") {
		form.Set("csrf_token", b.csrf)
	}
	return b.do(http.MethodPost, path, form, "Origin", b.base)
}

// do sends a request with form (nil for none) and header pairs.
func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	p := page{status: res.StatusCode, header: res.Header, body: string(data)}
	if m := csrfPattern.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

// follow loads the page a 303 answer sends the browser to.
func (b *browser) follow(p page) page {
	b.t.Helper()
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("want 303, got %d: %s", p.status, p.body)
	}
	return b.get(p.header.Get("Location"))
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// mustContain fails unless body holds every one of want.
func mustContain(t testing.TB, p page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Fatalf("page (%d) lacks %q:\n%s", p.status, w, p.body)
		}
	}
}
