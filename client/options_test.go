package client_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
)

// handlerTransport answers requests with a handler in the same process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// TestInProcessTransport sends calls through an http.Client whose
// Transport calls a handler, under a base URL with a path, and checks what
// every request carries.
func TestInProcessTransport(t *testing.T) {
	var got []*http.Request
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r)
		w.Header().Set("X-Request-ID", r.Header.Get("X-Request-ID"))
		w.WriteHeader(http.StatusNoContent)
	})
	c, err := client.New("http://invoiced.internal/api/", client.WithHTTPClient(&http.Client{Transport: handlerTransport{h}}),
		client.WithAPIKey("k-123"), client.WithUserAgent("billing-sync/2.1"))
	if err != nil {
		t.Fatal(err)
	}
	var info client.ResponseInfo
	if err := c.DeleteSubscription(testContext(t), "a/b?c", client.WithRequestID("trace-7"), client.WithResponseInfo(&info)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateSubscription(testContext(t), "s1", client.SubscriptionUpdateParams{Description: new("")}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	del, patch := got[0], got[1]
	if del.Method != "DELETE" || del.URL.EscapedPath() != "/api/webhooks/subscriptions/a%2Fb%3Fc" || del.URL.RawQuery != "" {
		t.Fatalf("delete %s %s ? %s", del.Method, del.URL.EscapedPath(), del.URL.RawQuery)
	}
	if del.Header.Get("Authorization") != "Bearer k-123" || del.Header.Get("X-Request-ID") != "trace-7" ||
		!strings.HasPrefix(del.Header.Get("User-Agent"), "billing-sync/2.1 invoiced-go/") || del.Header.Get("Content-Type") != "" {
		t.Fatalf("delete headers %v", del.Header)
	}
	if info.StatusCode != http.StatusNoContent || info.RequestID != "trace-7" || info.Attempts != 1 {
		t.Fatalf("info %+v", info)
	}
	if patch.Method != "PATCH" || patch.Header.Get("Content-Type") != "application/json" || patch.Header.Get("Idempotency-Key") != "" {
		t.Fatalf("patch %s %v", patch.Method, patch.Header)
	}
}

// TestUpdateSendsOnlyWhatIsSet checks the PATCH body: a field left nil is
// left out, an empty string or an empty list set is sent.
func TestUpdateSendsOnlyWhatIsSet(t *testing.T) {
	s := newScript(t, answer(http.StatusOK, `{"id":"s1","status":"disabled","disabled_reason":"disabled by request"}`))
	sub, err := fastClient(t, s.URL, 1).UpdateSubscription(testContext(t), "s1",
		client.SubscriptionUpdateParams{Description: new(""), Status: new(client.SubscriptionDisabled)})
	if err != nil || sub.DisabledReason != "disabled by request" {
		t.Fatalf("%+v %v", sub, err)
	}
	if body := s.requests()[0].body; body != `{"description":"","status":"disabled"}` {
		t.Fatalf("body %s", body)
	}
	// An empty choice of event types is sent, for the service to judge.
	if _, err := fastClient(t, s.URL, 1).UpdateSubscription(testContext(t), "s1",
		client.SubscriptionUpdateParams{EventTypes: []client.EventType{}}); err != nil {
		t.Fatal(err)
	}
	if body := s.requests()[1].body; body != `{"event_types":[]}` {
		t.Fatalf("body %s", body)
	}
}

// TestListQueriesAndBrokenPaging checks the query a list sends and that a
// page that would loop or has more without a cursor ends the list with an
// error.
func TestListQueriesAndBrokenPaging(t *testing.T) {
	s := newScript(t,
		answer(200, `{"data":[{"id":"d2"}],"has_more":true,"next_cursor":"c1"}`),
		answer(200, `{"data":[{"id":"d1"}],"has_more":true,"next_cursor":"c1"}`),
	)
	var ids []string
	var last error
	for d, err := range fastClient(t, s.URL, 1).ListDeliveries(testContext(t), client.DeliveryListParams{
		Status: client.DeliveryDead, SubscriptionID: "s1", EventType: client.EventInvoiceFailed, Limit: 1, Account: "acme",
	}) {
		if err != nil {
			last = err
			continue
		}
		ids = append(ids, d.ID)
	}
	reqs := s.requests()
	if len(ids) != 2 || last == nil || !strings.Contains(last.Error(), "cursor") || len(reqs) != 2 {
		t.Fatalf("ids %v, error %v, %d requests", ids, last, len(reqs))
	}
	if reqs[0].query != "account=acme&event_type=invoice.failed&limit=1&status=dead&subscription_id=s1" ||
		reqs[1].query != "account=acme&cursor=c1&event_type=invoice.failed&limit=1&status=dead&subscription_id=s1" {
		t.Fatalf("queries %q, %q", reqs[0].query, reqs[1].query)
	}

	s = newScript(t, answer(200, `{"data":[],"has_more":true}`))
	if _, err := fastClient(t, s.URL, 1).ListInvoicesPage(testContext(t), client.InvoiceListParams{}); err == nil {
		t.Fatal("has_more without next_cursor")
	}
}

// TestNewRefusesBadSettings gives New each kind of bad base URL and option.
func TestNewRefusesBadSettings(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://host", "http://", "http://h/?x=1", "http://h/#f", "http://u:p@h", "http://h:bad"} {
		if _, err := client.New(base); err == nil {
			t.Errorf("New(%q) succeeded", base)
		}
	}
	for name, opt := range map[string]client.Option{
		"nil client":     client.WithHTTPClient(nil),
		"no attempts":    client.WithRetry(0, time.Second),
		"negative time":  client.WithRetry(3, -time.Second),
		"zero backoff":   client.WithBackoff(0, time.Second),
		"max below":      client.WithBackoff(time.Second, time.Millisecond),
		"nil logger":     client.WithLogger(nil),
		"key line break": client.WithAPIKey("k\r\nX-Evil: 1"),
		"ua line break":  client.WithUserAgent("a\nb"),
	} {
		if _, err := client.New("http://127.0.0.1:8080", opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := client.New("https://invoiced.example.com/api/", client.WithRetry(1, 0)); err != nil {
		t.Fatal(err)
	}
}
