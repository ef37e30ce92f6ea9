package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// deadEnv is an env whose receiver fails, so an invoice's two deliveries
// end dead after their two attempts.
type deadEnv struct {
	*env
	subID, invoiceID string
	dead             []apiDelivery // invoice.created's, then invoice.processed's
}

func newDeadEnv(t testing.TB, args ...string) deadEnv {
	t.Helper()
	e := newEnv(t, args...)
	e.recv.status.Store(http.StatusInternalServerError)
	d := deadEnv{env: e, subID: e.subscribe()}
	d.invoiceID = e.invoice("cust_console")
	d.dead = make([]apiDelivery, 2)
	for _, x := range e.awaitDeliveries("status=dead", 2) {
		if x.EventType == "invoice.created" {
			d.dead[0] = x
		} else {
			d.dead[1] = x
		}
	}
	return d
}

func TestEveryPageShowsTheServiceData(t *testing.T) {
	t.Parallel()
	d := newDeadEnv(t)
	created := d.dead[0].ID
	b := d.browser()
	natstest.Eventually(t, 10*time.Second, "the overview counts both dead letters", func() bool {
		return strings.Contains(b.get("/console").body, `id="dead-count">2<`)
	})
	cases := []struct {
		name, path string
		want       []string
		not        []string
	}{
		{"overview", "/console", []string{`id="consumer-dispatcher-fanout"`, `id="delivery-` + created, `data-live="/console/live/deliveries?limit=10"`}, nil},
		{"invoices", "/console/invoices", []string{`id="invoice-` + d.invoiceID, "cust_console", "25.00 USD"}, nil},
		{"invoices by customer", "/console/invoices?customer_id=cust_console&status=processed", []string{`id="invoice-` + d.invoiceID}, nil},
		{"invoices of another customer", "/console/invoices?customer_id=nobody", []string{"No invoices match."}, []string{`<tr id="invoice-`}},
		{"invoice", "/console/invoices/" + d.invoiceID, []string{"cust_console", `id="event-InvoiceRequested"`, `id="event-InvoiceProcessed"`}, nil},
		{"subscriptions", "/console/subscriptions", []string{`id="subscription-` + d.subID, d.recv.srv.URL, `id="create-subscription"`, "<td>hmac</td>\n<td>none</td>"}, nil},
		{"subscription", "/console/subscriptions/" + d.subID, []string{`id="disable"`, `id="rotate"`, `id="delete-confirm"`, `id="send-test"`, `id="subscription-signing">hmac`,
			`id="subscription-ordering">none`, `id="ordering-none" name="ordering" value="none" checked>`}, []string{`id="public-keys"`}},
		{"deliveries", "/console/deliveries", []string{`id="delivery-` + created, `id="delivery-` + d.dead[1].ID, `data-live="/console/live/deliveries"`}, nil},
		{"deliveries of one type", "/console/deliveries?event_type=invoice.created&status=dead&subscription_id=" + d.subID,
			[]string{`id="delivery-` + created}, []string{`id="delivery-` + d.dead[1].ID}},
		{"delivery", "/console/deliveries/" + created, []string{`id="attempt-1"`, `id="attempt-2"`, "500", "receiver says &lt;b&gt;hi&lt;/b&gt;", `id="retry"`, `&#34;type&#34;: &#34;invoice.created&#34;`}, nil},
		{"dead letters", "/console/dead-letters", []string{`id="dead-` + created, `id="retry-` + created, `id="recover-` + d.subID}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.get(c.path)
			if p.status != http.StatusOK {
				t.Fatalf("%d: %s", p.status, p.body)
			}
			checkPage(t, p)
			mustContain(t, p, c.want...)
			for _, n := range c.not {
				if strings.Contains(p.body, n) {
					t.Errorf("shows %q", n)
				}
			}
		})
	}
	t.Run("history in order", func(t *testing.T) {
		p := b.get("/console/invoices/" + d.invoiceID)
		if strings.Index(p.body, "event-InvoiceRequested") > strings.Index(p.body, "event-InvoiceProcessed") {
			t.Error("the history is not oldest first")
		}
	})
}

func TestPagesShowTheAPIsProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	cases := []struct {
		path   string
		status int
		want   string
	}{
		{"/console/invoices?status=bogus", http.StatusBadRequest, "must be created, processed or failed"},
		{"/console/invoices?status=failed;status=processed", http.StatusBadRequest, "does not parse"},
		{"/console/deliveries?status=%zz", http.StatusBadRequest, "does not parse"},
		{"/console/invoices/not-an-id", http.StatusNotFound, "no invoice"},
		{"/console/deliveries/00000000-0000-0000-0000-000000000000", http.StatusNotFound, "no delivery"},
		{"/console/subscriptions/x%2F..%2Finvoices", http.StatusNotFound, "no subscription"},
		{"/console/subscriptions/..", http.StatusNotFound, "no such resource"},
		{"/console/deliveries/.", http.StatusNotFound, "no such resource"},
		{"/console/no-such-page", http.StatusNotFound, "no page"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			p := b.get(c.path)
			if p.status != c.status {
				t.Fatalf("%d, want %d: %s", p.status, c.status, p.body)
			}
			checkPage(t, p)
			mustContain(t, p, `id="problem"`, c.want)
		})
	}
}

func TestStaticFilesAreServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	cases := []struct {
		path, contentType string
		status            int
	}{
		{"/console/static/console.js", "text/javascript", http.StatusOK},
		{"/console/static/console.css", "text/css", http.StatusOK},
		{"/console/static/", "", http.StatusNotFound},
		{"/console/static/nothing.js", "", http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			p := b.get(c.path)
			if p.status != c.status || !strings.HasPrefix(p.header.Get("Content-Type"), c.contentType) {
				t.Fatalf("%d %q", p.status, p.header.Get("Content-Type"))
			}
			checkHeaders(t, p)
		})
	}
}
