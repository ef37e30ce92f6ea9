// Package listen is invoiced listen: a relay on this machine, subscribed to
// the service's webhooks, that verifies each and forwards it to an app or
// prints it.
package listen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/client/webhook"
	"github.com/invoiced/invoiced/internal/infra/config"
)

// Run runs invoiced listen as cfg says until ctx ends, through api: a
// relay subscribed to the service's webhooks, signed as cfg.Signing says,
// that verifies each (fetching an ed25519 subscription's public keys again
// when one does not verify with those held) and then forwards it to the
// app (--forward-to) or prints its body as a JSON line on stdout. While it
// prints, everything else it says goes to stderr, so stdout holds only the
// webhooks. It survives the service going away: webhooks resume when it
// is back, and the events missed meanwhile are replayed (see watcher). It
// fails when the relay cannot listen or the service refuses a call at the
// start or the end.
func Run(ctx context.Context, api *client.Client, cfg config.Listen, stdout, stderr io.Writer) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	relayURL := "http://" + ln.Addr().String() + "/webhook"
	sub, created, err := ensureSubscription(ctx, api, relayURL, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	out := &lines{w: stdout}
	say, doing := out, "Forwarding "+strings.Join(cfg.Events, ", ")+" to "+cfg.ForwardTo
	if cfg.Prints() {
		say, doing = &lines{w: stderr}, "Printing "+strings.Join(cfg.Events, ", ")+" as JSON lines on stdout"
	}
	keys, err := newKeyring(api, sub, say)
	if err != nil {
		ln.Close()
		if created {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = api.DeleteSubscription(stopCtx, sub.ID)
		}
		return err
	}
	handled := newSeen(maxSeen, time.Now())
	handler, replay := handlerOf(api, sub.ID, cfg, keys, handled, out, say)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	_ = say.printf("Ready. %s; webhooks signed with %s.\n  subscription %s, %s\n  Ctrl-C to stop.\n", doing, signingOf(sub), sub.ID, credential(sub))
	w := &watcher{api: api, readyURL: readyURL(cfg.API), probes: &http.Client{}, every: cfg.ProbeInterval,
		subID: sub.ID, types: eventTypes(cfg.Events), seen: handled, log: say, replay: replay}
	watching := make(chan struct{})
	go func() { defer close(watching); w.run(ctx) }()
	<-ctx.Done()
	<-watching
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(stopCtx)
	if !created {
		_ = say.printf("Stopped; subscription %s, which was there before, is left as it was.\n", sub.ID)
		return nil
	}
	if err := api.DeleteSubscription(stopCtx, sub.ID); err != nil {
		return fmt.Errorf("remove subscription %s: %w", sub.ID, err)
	}
	_ = say.printf("Stopped; subscription %s removed.\n", sub.ID)
	return nil
}

// handlerOf returns what takes the relay's webhooks, and replays what was
// missed, as cfg says: a printer, or a relay to the app.
func handlerOf(api *client.Client, subID string, cfg config.Listen, keys *keyring, handled *seen, out, log *lines) (http.Handler, replayer) {
	if cfg.Prints() {
		p := &printer{keys: keys, seen: handled, out: out, log: log}
		return p, p
	}
	r := newRelay(cfg.ForwardTo, keys, handled, out)
	r.api, r.subID = api, subID
	return r, r
}

// printer takes webhooks and writes the body of each that verifies as one
// JSON line on out, answering 204; one that does not verify, or is no
// event, is reported on log, not printed, and answered 400, so the
// delivery log records the failure. An event printed already, delivered
// again or replayed, is not printed again.
type printer struct {
	keys     *keyring
	seen     *seen
	out, log *lines
}

// ServeHTTP prints one webhook.
func (p *printer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, webhook.MaxBodyBytes))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	ev, err := p.keys.Verify(req.Context(), req.Header, body)
	if err != nil {
		_ = p.log.printf("%s  %s  %s: not printed\n", clock(time.Now()), req.Header.Get(webhook.HeaderID), verdict(err))
		http.Error(w, "not printed: see invoiced listen's output", http.StatusBadRequest)
		return
	}
	if !p.seen.claim(ev.ID) {
		_ = p.log.printf("%s  %s  delivered again: printed once already\n", clock(time.Now()), ev.ID)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := p.print(ev.ID, ev.Timestamp, body); err != nil {
		// stdout is gone (a closed pipe): the service retries later.
		http.Error(w, "cannot print", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// replay prints an event missed, unless it was printed already, and says
// on log that it was replayed; it fails when stdout does.
func (p *printer) replay(_ context.Context, rec client.EventRecord) error {
	if !p.seen.claim(rec.ID) {
		return nil
	}
	body, err := json.Marshal(rec.Event)
	if err != nil {
		p.seen.release(rec.ID)
		return err
	}
	if err := p.print(rec.ID, rec.Timestamp, body); err != nil {
		return err
	}
	_ = p.log.printf("%s  %-17s  %s  replayed (missed, from GET /events)\n", clock(time.Now()), rec.Type, rec.ID)
	return nil
}

// print writes body, the event id claimed that happened at at, as one
// JSON line on out and records it handled; it fails, releasing id, when
// out does.
func (p *printer) print(id string, at time.Time, body []byte) error {
	var line bytes.Buffer
	_ = json.Compact(&line, body) // Verify or Marshal made it: it is JSON
	line.WriteByte('\n')
	if err := p.out.write(line.Bytes()); err != nil {
		p.seen.release(id)
		return err
	}
	p.seen.done(id, at)
	return nil
}

// verdict says what verifying a webhook found, as listen prints it: err is
// Verify's.
func verdict(err error) string {
	switch {
	case err == nil:
		return "verified"
	case errors.Is(err, webhook.ErrPayload):
		return "verified, but its body is no event (" + err.Error() + ")"
	}
	return "NOT VERIFIED (" + err.Error() + ")"
}

// ensureSubscription returns an enabled subscription to relayURL, signed
// as cfg.Signing says, with its secret or public keys: one already there
// (an hmac one's secret rotated, the old one signing on for the overlap),
// or a new one, and whether it made it. It fails when the one there is
// signed otherwise, or the service refuses a call.
func ensureSubscription(ctx context.Context, api *client.Client, relayURL string, cfg config.Listen) (*client.Subscription, bool, error) {
	signing := client.Signing(cfg.Signing)
	for s, err := range api.ListSubscriptions(ctx, client.SubscriptionListParams{}) {
		if err != nil {
			return nil, false, err
		}
		if s.URL != relayURL || s.Status != client.SubscriptionEnabled {
			continue
		}
		switch has := signingOf(&s); {
		case has != signing:
			return nil, false, fmt.Errorf("subscription %s to %s is signed with %s, not %s: run with --signing %s, or delete it",
				s.ID, relayURL, has, signing, has)
		case has == client.SigningEd25519:
			return &s, false, nil // its public keys are shown: nothing to rotate
		}
		rotated, err := api.RotateSubscriptionSecret(ctx, s.ID)
		return rotated, false, err
	}
	description := "invoiced listen, forwarding to " + cfg.ForwardTo
	if cfg.Prints() {
		description = "invoiced listen, printing"
	}
	params := client.SubscriptionParams{URL: relayURL, EventTypes: eventTypes(cfg.Events), Description: description}
	if signing != client.SigningHMAC {
		params.Signing = signing // hmac is the default, left unsaid
	}
	sub, err := api.CreateSubscription(ctx, params)
	return sub, err == nil, err
}
