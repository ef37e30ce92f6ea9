package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TaskStream is the part of the WEBHOOKS stream that Ending needs;
// jetstream.Stream is one.
type TaskStream interface {
	Info(ctx context.Context, opts ...jetstream.StreamInfoOpt) (*jetstream.StreamInfo, error)
	Purge(ctx context.Context, opts ...jetstream.StreamPurgeOpt) error
}

// Ending ends the deliveries of a subscription that can no longer receive
// them: those waiting for a scheduled retry become dead at once, leave the
// live log, and their retries are removed.
type Ending struct {
	Tasks      TaskStream
	Deliveries KV
	Settler    Settler
}

// End marks every delivery of subscription subID that waits for a scheduled
// retry as dead for reason, removes the retries, and returns how many it
// ended. Deliveries not yet attempted end when their task comes up. It fails
// when the stream or the bucket cannot be reached; what it ended by then
// stays ended, and a repeat finishes the rest.
func (e Ending) End(ctx context.Context, subID, reason string, now time.Time) (int, error) {
	filter := ScheduleSubject(subID, "*")
	info, err := e.Tasks.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 0, fmt.Errorf("waiting deliveries of %s: %w", subID, err)
	}
	ended := 0
	for subject := range info.State.Subjects {
		_, deliveryID, _, _ := ParseTaskSubject(strings.TrimSuffix(subject, ".schedule"))
		changed, err := e.end(ctx, deliveryID, reason, now)
		switch {
		case err != nil:
			return ended, err
		case changed:
			ended++
		}
	}
	// Only the schedules listed above are purged: one published since (an
	// attempt recorded meanwhile) fires, and its attempt finds the
	// subscription ended.
	if err := e.Tasks.Purge(ctx, jetstream.WithPurgeSubject(filter), jetstream.WithPurgeSequence(info.State.LastSeq+1)); err != nil {
		return ended, fmt.Errorf("remove retries of %s: %w", subID, err)
	}
	return ended, nil
}

// end marks one live delivery dead for reason and settles it; it reports
// whether it was live. A delivery already gone from the live log is left
// alone.
func (e Ending) end(ctx context.Context, deliveryID, reason string, now time.Time) (bool, error) {
	changed := false
	d, err := Modify(ctx, e.Deliveries, deliveryID, func(d *Delivery) bool {
		changed = !d.Settled()
		if changed {
			d.Status, d.Reason, d.NextAttemptAt, d.UpdatedAt = DeliveryDead, reason, nil, now.UTC()
		}
		return changed
	})
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, err
	case !d.Value.Settled():
		return false, nil
	}
	return changed, e.Settler.Finish(ctx, d.Value, d.Revision)
}
