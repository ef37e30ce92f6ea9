package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// startSweep sweeps the live bucket once in the background, until Stop.
func (d *Dispatcher) startSweep() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	d.stopSweep = func() {
		cancel()
		<-done
	}
	go func() {
		defer close(done)
		moved, err := d.sweepSettled(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			d.cfg.Logger.Warn("settled deliveries left in the live bucket", "moved", moved, "err", err)
		case moved > 0:
			d.cfg.Logger.Info("settled deliveries moved out of the live bucket", "moved", moved)
		}
	}()
}

// sweepSettled moves settled records still in the bucket of live records
// out of it: those a crash caught between settling a delivery and moving its
// record, those a crash brought back after they were moved, and, after an
// upgrade, those written when the bucket kept every delivery. It returns
// how many it moved; one it cannot read is left.
func (d *Dispatcher) sweepSettled(ctx context.Context) (int, error) {
	lister, err := d.deliveries.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("list live deliveries: %w", err)
	}
	defer lister.Stop()
	moved := 0
	for key := range lister.Keys() {
		entry, err := d.deliveries.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return moved, fmt.Errorf("read live delivery %s: %w", key, err)
		}
		var rec webhook.Delivery
		if json.Unmarshal(entry.Value(), &rec) != nil {
			continue
		}
		done, err := d.settledLeftLive(ctx, rec)
		if err != nil {
			return moved, err
		}
		if !done.Settled() {
			continue
		}
		if err := d.ending.Settler.Finish(ctx, done, entry.Revision()); err != nil {
			return moved, err
		}
		moved++
	}
	return moved, nil
}

// settledLeftLive returns rec when it is settled; else the settled record
// of its delivery, when the WEBHOOKS stream holds one, since then rec is a
// live record left behind: the removal of a settled delivery's live record
// was seen to come undone in a restart after kill -9. Otherwise it returns
// rec. It fails when the stream cannot be read.
func (d *Dispatcher) settledLeftLive(ctx context.Context, rec webhook.Delivery) (webhook.Delivery, error) {
	if rec.Settled() {
		return rec, nil
	}
	done, ok, err := d.ending.Settler.Settled(ctx, rec.SubscriptionID, rec.ID)
	switch {
	case errors.Is(err, webhook.ErrUndecodable):
		return rec, nil
	case err != nil:
		return rec, err
	case ok:
		return done, nil
	}
	return rec, nil
}
