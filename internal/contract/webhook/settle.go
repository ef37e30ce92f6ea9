package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher publishes one message; jetstream.JetStream is one.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// LastReader reads the newest message under a subject; jetstream.Stream is
// one.
type LastReader interface {
	GetLastMsgForSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error)
}

// Purger removes messages from a stream; jetstream.Stream is one.
type Purger interface {
	Purge(ctx context.Context, opts ...jetstream.StreamPurgeOpt) error
}

// Settler moves settled deliveries out of the live log. A delivery that is
// pending or failing lives in BucketDeliveries, where its attempts are
// recorded with compare-and-set; once it is delivered or dead its record is
// published under DoneSubject on the WEBHOOKS stream, which the history
// copies, and its live record is removed, so the bucket holds only what is
// still in play.
type Settler struct {
	// Pub publishes settled records.
	Pub Publisher
	// Tasks is the WEBHOOKS stream, read for settled records.
	Tasks LastReader
	// LiveStream is the stream behind BucketDeliveries, purged of settled
	// records.
	LiveStream Purger
}

// ErrUndecodable is a stored record that does not decode as what its
// subject says it is: something published there by hand.
var ErrUndecodable = errors.New("stored record does not decode")

// Settled returns the newest settled record of delivery id to subscription
// subID while the WEBHOOKS stream holds it, and whether there was one. It
// fails when the stream cannot be read, and with ErrUndecodable when what
// is stored there is not that delivery's record.
func (s Settler) Settled(ctx context.Context, subID, id string) (Delivery, bool, error) {
	msg, err := s.Tasks.GetLastMsgForSubject(ctx, DoneSubject(subID, id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Delivery{}, false, nil
	}
	if err != nil {
		return Delivery{}, false, fmt.Errorf("read settled delivery %s: %w", id, err)
	}
	var d Delivery
	if err := json.Unmarshal(msg.Data, &d); err != nil {
		return Delivery{}, false, fmt.Errorf("%w: settled delivery %s (message %d): %w", ErrUndecodable, id, msg.Sequence, err)
	}
	if d.ID != id {
		return Delivery{}, false, fmt.Errorf("%w: settled delivery %s (message %d) holds delivery %q", ErrUndecodable, id, msg.Sequence, d.ID)
	}
	return d, true, nil
}

// Finish publishes the settled record d and then removes its live record up
// to revision, if it had one (0 means none): a revision written after it
// by another attempt stays. Repeating Finish after a crash stores the
// record once and removes nothing more. It fails when either write fails;
// the live record then stays until a repeat.
func (s Settler) Finish(ctx context.Context, d Delivery, revision uint64) error {
	if !d.Settled() {
		return fmt.Errorf("delivery %s is %s, not settled", d.ID, d.Status)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("settled delivery %s: %w", d.ID, err)
	}
	msg := nats.NewMsg(DoneSubject(d.SubscriptionID, d.ID))
	msg.Data = data
	// Conditions travel as headers, so settled records can share a batch.
	msg.Header.Set(jetstream.MsgIDHeader, d.DoneMsgID())
	msg.Header.Set(jetstream.ExpectedStreamHeader, StreamWebhooks)
	if _, err := s.Pub.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish settled delivery %s: %w", d.ID, err)
	}
	if revision == 0 {
		return nil
	}
	err = s.LiveStream.Purge(ctx, jetstream.WithPurgeSubject(LiveSubject(d.ID)), jetstream.WithPurgeSequence(revision+1))
	if err != nil {
		return fmt.Errorf("remove live record of delivery %s: %w", d.ID, err)
	}
	return nil
}

// LiveStream is the name of the stream behind BucketDeliveries.
const LiveStream = "KV_" + BucketDeliveries

// LiveSubject returns the subject of delivery id's live record.
func LiveSubject(id string) string { return "$KV." + BucketDeliveries + "." + id }
