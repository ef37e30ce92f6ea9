package listen

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/invoiced/invoiced/client/webhook"
)

// relayedHeaders are the headers a webhook carries on to the app.
var relayedHeaders = []string{
	"Content-Type", "User-Agent", webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature,
	webhook.HeaderEventType, webhook.HeaderDeliveryID, webhook.HeaderAttempt,
}

// relay takes webhooks, verifies and prints each, forwards it unchanged to
// the app and answers with the app's answer, so the delivery log records
// what the app said.
type relay struct {
	forward string
	keys    *keyring
	client  *http.Client
	out     *lines
}

// newRelay returns a relay to the app at forward that verifies each webhook
// with keys and prints what came of it on out.
func newRelay(forward string, keys *keyring, out *lines) *relay {
	return &relay{forward: forward, keys: keys, out: out, client: &http.Client{Timeout: 30 * time.Second}}
}

// ServeHTTP relays one webhook.
func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, webhook.MaxBodyBytes))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	_, err = r.keys.Verify(req.Context(), req.Header, body)
	verified := verdict(err)
	start := time.Now()
	status, answer := r.send(req, body)
	_ = r.out.printf("%s  %-17s  %s  %s  → %s (%d ms)\n", start.Format("15:04:05"), req.Header.Get(webhook.HeaderEventType),
		req.Header.Get(webhook.HeaderID), verified, answer, time.Since(start).Milliseconds())
	w.WriteHeader(status)
}

// send forwards the webhook to the app and returns the status to answer
// with and a description of the app's answer.
func (r *relay) send(in *http.Request, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(in.Context(), http.MethodPost, r.forward, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadGateway, err.Error()
	}
	for _, h := range relayedHeaders {
		if v := in.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	res, err := r.client.Do(req)
	if err != nil {
		return http.StatusBadGateway, "no answer: " + err.Error()
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, res.Status
}
