package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/nats-io/nats.go/jetstream"
)

// readSettled reads the settled delivery records the history holds since
// --since, the newest version of each: a webhook replayed for an event
// whose delivery has settled carries its record, so the attempt is added
// to its log. A message that is no record is passed over to skips.
func (r *replayer) readSettled(ctx context.Context) error {
	records, err := history.NewReader(ctx, r.js, history.Deliveries, r.opts.Since)
	if err != nil {
		return err
	}
	r.settled = map[string]webhook.Delivery{}
	return records.Each(ctx, func(m history.Message) error {
		d, err := decodeRecord(m.Data, "")
		if err != nil {
			r.skips.Skip(history.Skipped{Stream: m.Origin.Stream, Seq: m.Origin.Seq, Subject: m.Origin.Subject, Err: err})
			return nil
		}
		if old, ok := r.settled[d.ID]; !ok || d.Newer(old) {
			r.settled[d.ID] = d
		}
		return nil
	})
}

// delivery returns the record of ev's delivery to subID: live, settled
// since the history was read, settled before, or one made from the event
// when none is stored. A stored record that cannot be read is passed over
// to skips. It fails when the bucket or the stream cannot be read.
func (r *replayer) delivery(ctx context.Context, ev events.Event, eventType, subID string) (webhook.Delivery, error) {
	id := webhook.DeliveryID(ev.ID, subID)
	if d, ok, err := r.live(ctx, id); err != nil || ok {
		return d, err
	}
	d, ok, err := r.done.Settled(ctx, subID, id)
	switch {
	case err != nil && !errors.Is(err, webhook.ErrUndecodable):
		return webhook.Delivery{}, err
	case err == nil && ok:
		return d, nil
	}
	if err != nil {
		r.skips.Skip(history.Skipped{Stream: webhook.StreamWebhooks, Subject: webhook.DoneSubject(subID, id), Err: err})
	}
	if d, ok := r.settled[id]; ok {
		return d, nil
	}
	task, err := webhook.NewTask(ev, eventType, subID)
	if err != nil {
		return webhook.Delivery{}, err
	}
	return webhook.Delivery{ID: id, Account: task.Account, SubscriptionID: subID, EventID: ev.ID, EventType: eventType,
		InvoiceID: ev.Invoice.ID, Body: task.Body}, nil
}

// live returns delivery id's live record, and whether it has one that can
// be read. It fails when the bucket cannot be read.
func (r *replayer) live(ctx context.Context, id string) (webhook.Delivery, bool, error) {
	entry, err := r.deliveries.Get(ctx, id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return webhook.Delivery{}, false, nil
	case err != nil:
		return webhook.Delivery{}, false, fmt.Errorf("delivery %s: %w", id, err)
	}
	d, err := decodeRecord(entry.Value(), id)
	if err != nil {
		r.skips.Skip(kvSkip(entry, err))
		return webhook.Delivery{}, false, nil
	}
	return d, true, nil
}

// decodeRecord decodes a delivery record: of delivery id, or of any
// delivery when id is "". It fails when data is none.
func decodeRecord(data []byte, id string) (webhook.Delivery, error) {
	var d webhook.Delivery
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("delivery record: %w", err)
	}
	if d.ID == "" || (id != "" && d.ID != id) {
		return d, fmt.Errorf("delivery record of %.40q, not of %s", d.ID, id)
	}
	return d, nil
}

// kvSkip returns entry, passed over for err, as a skip.
func kvSkip(entry jetstream.KeyValueEntry, err error) history.Skipped {
	return history.Skipped{Stream: "KV_" + entry.Bucket(), Seq: entry.Revision(),
		Subject: "$KV." + entry.Bucket() + "." + entry.Key(), Err: err}
}
