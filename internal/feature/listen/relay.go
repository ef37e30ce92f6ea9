package listen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/client/webhook"
)

// relayedHeaders are the headers a webhook carries on to the app.
var relayedHeaders = []string{
	"Content-Type", "User-Agent", webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature,
	webhook.HeaderEventType, webhook.HeaderDeliveryID, webhook.HeaderAttempt,
}

// relay takes webhooks, verifies and prints each, forwards it unchanged to
// the app and answers with the app's answer, so the delivery log records
// what the app said. An event the app took already (2xx), delivered
// again, is not forwarded again.
type relay struct {
	forward string
	keys    *keyring
	seen    *seen
	client  *http.Client
	out     *lines

	api       *client.Client // asks for missed events again
	subID     string         // the relay's subscription
	replaying sync.Map       // webhook-ids asked for again: they are marked
}

// newRelay returns a relay to the app at forward that verifies each webhook
// with keys and prints what came of it on out.
func newRelay(forward string, keys *keyring, handled *seen, out *lines) *relay {
	return &relay{forward: forward, keys: keys, seen: handled, out: out, client: &http.Client{Timeout: 30 * time.Second}}
}

// ServeHTTP relays one webhook.
func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, webhook.MaxBodyBytes))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	ev, err := r.keys.Verify(req.Context(), req.Header, body)
	verified := verdict(err)
	start := time.Now()
	if err == nil && !r.seen.claim(ev.ID) {
		_ = r.out.printf("%s  %-17s  %s  %s, delivered again: the app took it already, not forwarded\n", clock(start),
			ev.Type, ev.ID, verified)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	status, answer := r.send(req, body)
	if err == nil {
		r.settle(ev, status)
	}
	mark := ""
	if _, ok := r.replaying.LoadAndDelete(req.Header.Get(webhook.HeaderID)); ok {
		mark = "  (replayed)"
	}
	_ = r.out.printf("%s  %-17s  %s  %s  → %s (%d ms)%s\n", clock(start), req.Header.Get(webhook.HeaderEventType),
		req.Header.Get(webhook.HeaderID), verified, answer, time.Since(start).Milliseconds(), mark)
	w.WriteHeader(status)
}

// settle records ev, verified and claimed, as handled when the app took
// it (status 2xx), and releases it otherwise so its retry is forwarded.
func (r *relay) settle(ev webhook.Event, status int) {
	if status >= 200 && status < 300 {
		r.seen.done(ev.ID, ev.Timestamp)
		return
	}
	r.seen.release(ev.ID)
}

// replay asks the service to deliver an event missed to the relay again
// now, rather than at its next retry, so the app gets it signed as ever;
// the relay marks it as replayed when it comes. It fails when the service
// gives no answer; a refusal (the delivery is gone or spent) is printed.
func (r *relay) replay(ctx context.Context, rec client.EventRecord) error {
	d := deliveryTo(rec, r.subID)
	if d == nil || r.seen.has(rec.ID) {
		return nil
	}
	r.replaying.Store(rec.ID, true)
	_, err := r.api.RetryDelivery(ctx, d.ID)
	var refused *client.Error
	switch {
	case err == nil:
		_ = r.out.printf("%s  %-17s  %s  missed: the service delivers it again now (replay)\n", clock(time.Now()), rec.Type, rec.ID)
	case errors.As(err, &refused):
		r.replaying.Delete(rec.ID)
		_ = r.out.printf("%s  %-17s  %s  missed, and cannot be replayed: %v\n", clock(time.Now()), rec.Type, rec.ID, err)
	default:
		r.replaying.Delete(rec.ID)
		return err
	}
	return nil
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
