package app

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
)

// scrape reads the metrics at url into series → value, series written as
// Prometheus writes them ("name{label=\"value\",…}").
func scrape(t testing.TB, url string, headers ...string) (int, map[string]float64) {
	t.Helper()
	a := calltest.Call(t, http.MethodGet, url, "", headers...)
	series := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(a.Body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			series[line[:i]] = v
		}
	}
	return a.Status, series
}

func TestMetricsCountWhatHappens(t *testing.T) {
	var gone atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
		}
	}))
	t.Cleanup(receiver.Close)
	svc := startService(t, serveConfig(t, "", "--max-amount-cents", "5000"))
	base := "http://" + svc.Addr()
	sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions",
		`{"url":"`+receiver.URL+`","event_types":["invoice.processed","invoice.failed"]}`, "Content-Type", "application/json")
	if sub.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", sub.Status, sub.Body)
	}
	calltest.PostInvoice(t, base, "m-1", calltest.InvoiceBody)
	calltest.PostInvoice(t, base, "m-1", calltest.InvoiceBody) // a replay
	calltest.PostInvoice(t, base, "m-2", `{"customer_id":"c","amount_cents":9000,"currency":"USD"}`)
	want := map[string]float64{
		`invoiced_http_requests_total{method="POST",route="/invoices",status="201"}`:               3,
		`invoiced_idempotent_replays_total`:                                                        1,
		`invoiced_jetstream_publishes_total{kind="invoice_requested",result="stored"}`:             2,
		`invoiced_invoice_outcomes_total{outcome="processed"}`:                                     1,
		`invoiced_invoice_outcomes_total{outcome="failed"}`:                                        1,
		`invoiced_webhook_attempts_total{outcome="success"}`:                                       2,
		`invoiced_consumer_pending_messages{consumer="processor",stream="INVOICES"}`:               0,
		`invoiced_consumer_ack_pending_messages{consumer="dispatcher",stream="WEBHOOKS"}`:          0,
		`invoiced_consumer_pending_messages{consumer="dispatcher-fanout",stream="INVOICES"}`:       0,
		`invoiced_webhook_subscriptions_disabled_total`:                                            0,
		`invoiced_webhook_deliveries_dead_total`:                                                   0,
		`invoiced_http_request_duration_seconds_count{method="POST",route="/invoices"}`:            3,
		`invoiced_jetstream_publish_duration_seconds_count{kind="invoice_processed"}`:              1,
		`invoiced_webhook_attempt_duration_seconds_count{outcome="success"}`:                       2,
		`invoiced_webhook_end_to_end_seconds_count{event_type="invoice.processed"}`:                1,
		`invoiced_webhook_end_to_end_seconds_count{event_type="invoice.failed"}`:                   1,
		`invoiced_http_requests_total{method="POST",route="/webhooks/subscriptions",status="201"}`: 1,
	}
	awaitMetrics(t, base+"/metrics", want)
	if _, got := scrape(t, base+"/metrics"); got["invoiced_read_model_lag_seconds"] > 5 {
		t.Errorf("a ready service's read model lag: %vs, want at most the second it takes to confirm", got["invoiced_read_model_lag_seconds"])
	} else if _, ok := got["invoiced_read_model_lag_seconds"]; !ok {
		t.Error("the read model's lag is not reported")
	}

	// A 410 Gone kills the delivery and disables the subscription.
	gone.Store(true)
	calltest.PostInvoice(t, base, "m-3", calltest.InvoiceBody)
	want[`invoiced_webhook_attempts_total{outcome="failure"}`] = 1
	want[`invoiced_webhook_deliveries_dead_total`] = 1
	want[`invoiced_webhook_subscriptions_disabled_total`] = 1
	want[`invoiced_jetstream_publishes_total{kind="invoice_requested",result="stored"}`] = 3
	delete(want, `invoiced_http_requests_total{method="POST",route="/invoices",status="201"}`)
	delete(want, `invoiced_http_request_duration_seconds_count{method="POST",route="/invoices"}`)
	delete(want, `invoiced_jetstream_publish_duration_seconds_count{kind="invoice_processed"}`)
	delete(want, `invoiced_invoice_outcomes_total{outcome="processed"}`)
	awaitMetrics(t, base+"/metrics", want)
}

// awaitMetrics polls until every series in want has its value.
func awaitMetrics(t *testing.T, url string, want map[string]float64, headers ...string) {
	t.Helper()
	var last map[string]float64
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, got := scrape(t, url, headers...)
		last = got
		missing := ""
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				missing += fmt.Sprintf("\n  %s = %v (present %v), want %v", k, g, ok, v)
			}
		}
		if status == http.StatusOK && missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics at %s (status %d) differ:%s\n(%d series)", url, status, missing, len(last))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMetricsWhereTheyAreAsked(t *testing.T) {
	keyed := startService(t, serveConfig(t, "", "--api-keys", "metrics-key-0123456789abcdef0123456789"))
	if status, _ := scrape(t, "http://"+keyed.Addr()+"/metrics"); status != http.StatusUnauthorized {
		t.Errorf("metrics without the API key: %d, want 401", status)
	}
	if status, got := scrape(t, "http://"+keyed.Addr()+"/metrics", "Authorization", "Bearer metrics-key-0123456789abcdef0123456789"); status != http.StatusOK || len(got) == 0 {
		t.Errorf("metrics with the API key: %d, %d series", status, len(got))
	}

	apart := startService(t, serveConfig(t, "", "--metrics-addr", "127.0.0.1:0"))
	if status, got := scrape(t, "http://"+apart.MetricsAddr()+"/metrics"); status != http.StatusOK || got["go_goroutines"] == 0 {
		t.Errorf("metrics on their own listener: %d, go_goroutines %v", status, got["go_goroutines"])
	}
	if status, _ := scrape(t, "http://"+apart.Addr()+"/metrics"); status != http.StatusNotFound {
		t.Errorf("metrics on the API listener too: %d", status)
	}

	off := startService(t, serveConfig(t, "", "--metrics-addr", "off"))
	if status, _ := scrape(t, "http://"+off.Addr()+"/metrics"); status != http.StatusNotFound || off.MetricsAddr() != "" {
		t.Errorf("metrics off: %d on the API listener, own listener %q", status, off.MetricsAddr())
	}
}
