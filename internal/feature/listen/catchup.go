package listen

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/invoiced/invoiced/client"
)

// probeTimeout bounds one probe of the service.
const probeTimeout = 5 * time.Second

// replayer handles one event missed while the service was unreachable, as
// the relay handles a webhook; it fails when it could not, so that the
// next catch-up tries again.
type replayer interface {
	replay(ctx context.Context, rec client.EventRecord) error
}

// watcher probes the service every so often and, when it comes back after
// being unreachable, replays the events of the relay's subscription that
// it missed, from GET /events, skipping those handled already.
type watcher struct {
	api      *client.Client
	readyURL string
	probes   *http.Client
	every    time.Duration
	subID    string
	types    []client.EventType
	seen     *seen
	log      *lines
	replay   replayer
}

// run probes until ctx ends, saying on log when the service goes away and
// when it is back, and then replaying what was missed.
func (w *watcher) run(ctx context.Context) {
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	var downSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := w.probe(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && downSince.IsZero():
			downSince = time.Now()
			_ = w.log.printf("%s  service unreachable since %s (%v); webhooks resume, and what is missed is replayed, once it is back\n",
				clock(downSince), clock(downSince), err)
		case err == nil && !downSince.IsZero():
			if err := w.catchUp(ctx, time.Since(downSince)); err != nil {
				_ = w.log.printf("%s  catching up failed, trying again: %v\n", clock(time.Now()), err)
				continue
			}
			downSince = time.Time{}
		}
	}
}

// probe asks the service's /readyz whether it is ready; it fails when it
// gives no answer or another than 200.
func (w *watcher) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.readyURL, nil)
	if err != nil {
		return err
	}
	res, err := w.probes.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answers %s", w.readyURL, res.Status)
	}
	return nil
}

// catchUp replays, oldest first, the events missed since a little before
// the newest handled, saying so on log with how long the service was away.
// It fails when listing them or replaying one does.
func (w *watcher) catchUp(ctx context.Context, away time.Duration) error {
	since := w.seen.since()
	missed, err := w.missed(ctx, since)
	if err != nil {
		return err
	}
	_ = w.log.printf("%s  service back after %.1fs; replaying %d %s missed since %s\n",
		clock(time.Now()), away.Seconds(), len(missed), plural(len(missed), "event"), clock(since))
	for _, rec := range missed {
		if err := w.replay.replay(ctx, rec); err != nil {
			return fmt.Errorf("replay %s: %w", rec.ID, err)
		}
	}
	return nil
}

// missed returns, oldest first, the events since since of the types
// listened to that the service meant for the subscription, did not deliver
// and the relay has not handled. It fails when the service refuses.
func (w *watcher) missed(ctx context.Context, since time.Time) ([]client.EventRecord, error) {
	var out []client.EventRecord
	for rec, err := range w.api.ListEvents(ctx, client.EventListParams{Since: since, Limit: 100}) {
		if err != nil {
			return nil, err
		}
		if d := deliveryTo(rec, w.subID); d != nil && d.Status != client.DeliveryDelivered &&
			slices.Contains(w.types, rec.Type) && !w.seen.has(rec.ID) {
			out = append(out, rec)
		}
	}
	slices.Reverse(out) // the list is newest first
	return out, nil
}

// deliveryTo returns the delivery of rec to subscription subID, or nil
// when there is none (yet).
func deliveryTo(rec client.EventRecord, subID string) *client.EventDelivery {
	for i := range rec.Deliveries {
		if rec.Deliveries[i].SubscriptionID == subID {
			return &rec.Deliveries[i]
		}
	}
	return nil
}

// eventTypes returns names as event types.
func eventTypes(names []string) []client.EventType {
	types := make([]client.EventType, len(names))
	for i, t := range names {
		types[i] = client.EventType(t)
	}
	return types
}

// readyURL returns the address of the readiness check of the API at base.
func readyURL(base string) string { return strings.TrimRight(base, "/") + "/readyz" }

// clock returns t as listen's lines show times.
func clock(t time.Time) string { return t.Format("15:04:05") }

// plural returns noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
