package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// awaitAttemptsLogged waits until the deliveries the API lists hold n
// attempts in all.
func awaitAttemptsLogged(t testing.TB, base string, n int) {
	t.Helper()
	natstest.Eventually(t, 20*time.Second, "attempts logged", func() bool {
		var list struct {
			Data []struct {
				Attempts []json.RawMessage `json:"attempts"`
			} `json:"data"`
		}
		a := calltest.Call(t, http.MethodGet, base+"/webhooks/deliveries?limit=100", "")
		if a.Status != http.StatusOK || json.Unmarshal(a.Body, &list) != nil {
			return false
		}
		logged := 0
		for _, d := range list.Data {
			logged += len(d.Attempts)
		}
		return logged == n
	})
}

func replayCmd(t testing.TB, natsURL string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), append([]string{"replay", "--nats-url", natsURL}, args...), &stdout, &stderr, func(string) string { return "" })
	if err != nil {
		t.Fatalf("replay %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

func TestReplayResendsStoredEvents(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--nats-listen", "127.0.0.1:0", "--max-amount-cents", "5000"))
	base, url := "http://"+svc.Addr(), svc.NATSURL()
	recv := calltest.NewReceiver(t)
	sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions",
		`{"url":"`+recv.URL+`","event_types":["invoice.processed","invoice.failed"]}`, "Content-Type", "application/json")
	if sub.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", sub.Status, sub.Body)
	}
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	calltest.PostInvoice(t, base, "r-1", calltest.InvoiceBody)
	calltest.PostInvoice(t, base, "r-2", `{"customer_id":"c","amount_cents":9000,"currency":"USD"}`) // fails
	first := recv.AwaitTotal(t, 2)
	awaitAttemptsLogged(t, base, 2) // a replay counts the attempts made so far

	out := replayCmd(t, url, "--since", since, "--dry-run")
	if !strings.Contains(out, "4 events") || !strings.Contains(out, "would queue (dry run) 2 webhooks to 1 subscriptions") {
		t.Fatalf("dry run: %s", out)
	}
	out = replayCmd(t, url, "--since", since, "--event-type", "invoice.failed")
	if !strings.Contains(out, "queued 1 webhooks") {
		t.Fatalf("failed only: %s", out)
	}
	afterFailed := recv.AwaitTotal(t, 3)
	awaitAttemptsLogged(t, base, 3)
	out = replayCmd(t, url, "--since", "1h", "--subscription", calltest.Field(t, sub.Body, "id"))
	if !strings.Contains(out, "queued 2 webhooks") {
		t.Fatalf("everything: %s", out)
	}
	final := recv.AwaitTotal(t, 5) // the dry run sent nothing
	for id, n := range first {
		if final[id] < 2 || len(final) != len(first) {
			t.Fatalf("webhook %s arrived %d times; all: %v", id, n, final)
		}
	}
	if len(afterFailed) != 2 {
		t.Fatalf("a replay sent a webhook-id never sent before: %v", afterFailed)
	}
	if out := replayCmd(t, url, "--since", time.Now().UTC().Format(time.RFC3339Nano)); !strings.Contains(out, "0 events") {
		t.Fatalf("nothing since now: %s", out)
	}
}

func TestReplayRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "--since is required"},
		{[]string{"--since", "yesterday"}, "--since must be"},
		{[]string{"--since", "2999-01-01T00:00:00Z"}, "in the future"},
		{[]string{"--since", "1h", "--event-type", "invoice.paid"}, "--event-type"},
		{[]string{"--since", "1h", "--nats-creds", "no/such.creds"}, "--nats-creds"},
		{[]string{"--since", "1h", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			err := Run(context.Background(), append([]string{"replay"}, tt.args...), &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("replay %v = %v, want a usage error about %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestReplayNamesAMissingSubscription(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--nats-listen", "127.0.0.1:0"))
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"replay", "--nats-url", svc.NATSURL(), "--since", "1h", "--subscription", "no-such"},
		&stdout, &stderr, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "no subscription no-such") {
		t.Fatalf("replay to a missing subscription: %v", err)
	}
}
