package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// Streams configures the streams invoiced creates.
type Streams struct {
	// Replicas is the replication factor of every stream; 0 means 1.
	Replicas int
	// DedupWindow is how long JetStream remembers a Nats-Msg-Id. It only has
	// to cover retries that are in flight at once: the stream's subject index,
	// not this window, is what makes an invoice unique. 0 means 2 minutes.
	DedupWindow time.Duration
	// HistoryRetention is how long the history keeps what it copies; 0
	// keeps everything.
	HistoryRetention time.Duration
	// HistorySegmentBytes is how large a history segment grows before the
	// next one starts; 0 means 512 MiB.
	HistorySegmentBytes uint64
	// HistoryUnsynced lets a single-replica history segment write without
	// a disk sync per message (JetStream's async persist mode): only for a
	// server that syncs such streams within HistorySyncInterval, which is
	// well inside the time compaction leaves an original after the history
	// copied it. Segments created before keep their mode.
	HistoryUnsynced bool
}

// HistorySyncInterval is the longest an unsynced history segment may go
// between disk syncs: under the 5 s a settled record stays on WEBHOOKS
// after the history has copied it, so a copy is on disk before its
// original can be compacted away.
const HistorySyncInterval = 2 * time.Second

// Validate reports the first problem with the configuration.
func (s Streams) Validate() error {
	if s.Replicas < 0 || s.Replicas > 5 {
		return fmt.Errorf("replicas must be 1 to 5, not %d", s.Replicas)
	}
	if s.DedupWindow < 0 {
		return fmt.Errorf("dedup window must not be negative, not %s", s.DedupWindow)
	}
	if s.HistoryRetention < 0 {
		return fmt.Errorf("history retention must not be negative, not %s", s.HistoryRetention)
	}
	return nil
}

// InvoiceStreamConfig returns the configuration of the INVOICES stream:
// every invoice event while the pipeline needs it, single messages
// undeletable; compaction (see Compaction) removes what every consumer has
// handled and the history has copied. A single-replica stream allows direct
// gets, the fastest read; a replicated one does not, so every read goes to
// the leader and sees every acknowledged write.
func (s Streams) InvoiceStreamConfig() jetstream.StreamConfig {
	replicas, window := s.Replicas, s.DedupWindow
	if replicas == 0 {
		replicas = 1
	}
	if window == 0 {
		window = 2 * time.Minute
	}
	return jetstream.StreamConfig{
		Name:        events.StreamInvoices,
		Description: "invoiced: every invoice event (see events package)",
		Subjects:    []string{events.AllSubjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxMsgSize:  256 << 10,
		Duplicates:  window,
		Replicas:    replicas,
		AllowDirect: replicas == 1,
		DenyDelete:  true,
		// Writers group concurrent publishes into atomic batches, which
		// share one disk sync (internal/infra/groupcommit).
		AllowAtomicPublish: true,
	}
}

// WebhookTaskRetention is how long the WEBHOOKS stream keeps a task: well
// past the longest retry schedule, and the span within which a repeated
// fan-out is recognised as a repeat.
const WebhookTaskRetention = 7 * 24 * time.Hour

// WebhookStreamConfig returns the configuration of the WEBHOOKS stream: one
// task per delivery, each under its own subject so the subject index makes
// fan-out idempotent, kept for WebhookTaskRetention; message schedules are
// allowed, so a retry waits in the stream rather than as an unacknowledged
// message.
func (s Streams) WebhookStreamConfig() jetstream.StreamConfig {
	cfg := s.InvoiceStreamConfig()
	cfg.Name = webhook.StreamWebhooks
	cfg.Description = "invoiced: webhook delivery tasks"
	cfg.Subjects = []string{webhook.AllTasks}
	cfg.Discard = jetstream.DiscardOld
	cfg.MaxAge = WebhookTaskRetention
	cfg.AllowMsgSchedules = true
	return cfg
}

// StreamManager is the part of jetstream.JetStream that EnsureStream needs.
type StreamManager interface {
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
	CreateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error)
	UpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error)
}

// EnsureStream creates the stream, brings an existing one to cfg, or leaves
// one that already matches cfg alone, and returns it. Processes that start
// at once against one NATS race here; the loser of a create race looks
// again, so all succeed. It fails when JetStream refuses the configuration or
// cannot be reached before ctx ends.
func EnsureStream(ctx context.Context, js StreamManager, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		st, err := js.Stream(ctx, cfg.Name)
		switch {
		case err == nil && !differs(st.CachedInfo().Config, cfg):
			return st, nil
		case err == nil:
			// JetStream cannot change a stream's persist mode.
			cfg.PersistMode = st.CachedInfo().Config.PersistMode
			st, err = js.UpdateStream(ctx, cfg)
		case errors.Is(err, jetstream.ErrStreamNotFound):
			st, err = js.CreateStream(ctx, cfg)
		}
		if err == nil {
			return st, nil
		}
		lastErr = err
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			break
		}
	}
	return nil, fmt.Errorf("ensure stream %s: %w", cfg.Name, lastErr)
}

// differs reports whether have lacks any setting of want that invoiced
// chooses; what the server fills in by default is not compared.
func differs(have, want jetstream.StreamConfig) bool {
	return have.Description != want.Description ||
		!slices.Equal(have.Subjects, want.Subjects) ||
		have.Storage != want.Storage ||
		have.Retention != want.Retention ||
		have.Discard != want.Discard ||
		have.MaxMsgSize != want.MaxMsgSize ||
		have.Duplicates != want.Duplicates ||
		have.Replicas != want.Replicas ||
		have.MaxAge != want.MaxAge ||
		have.AllowDirect != want.AllowDirect ||
		have.AllowMsgSchedules != want.AllowMsgSchedules ||
		have.AllowAtomicPublish != want.AllowAtomicPublish ||
		have.DenyDelete != want.DenyDelete ||
		!slices.EqualFunc(have.Sources, want.Sources, sameSource)
}

// sameSource reports whether two sources copy the same stream the same way.
func sameSource(a, b *jetstream.StreamSource) bool {
	return a.Name == b.Name && a.FilterSubject == b.FilterSubject && slices.Equal(a.SubjectTransforms, b.SubjectTransforms)
}

// Handles are the streams and buckets invoiced keeps its state in.
type Handles struct {
	Invoices      jetstream.Stream
	Subscriptions jetstream.KeyValue
	Webhooks      jetstream.Stream
	Deliveries    jetstream.KeyValue
	// LiveDeliveries is the stream behind Deliveries.
	LiveDeliveries jetstream.Stream
	// History is the history segment being copied into.
	History jetstream.Stream
}

// Manager is what Ensure needs of a JetStream context; jetstream.JetStream
// is one.
type Manager interface {
	HistoryManager
	KeyValueManager
}

// Ensure creates or updates every stream and bucket, the history last since
// it copies from the others, and returns them. It fails like EnsureStream
// and EnsureKeyValue.
func (s Streams) Ensure(ctx context.Context, js Manager) (Handles, error) {
	var h Handles
	var err error
	if h.Invoices, err = EnsureStream(ctx, js, s.InvoiceStreamConfig()); err != nil {
		return h, err
	}
	if h.Subscriptions, err = EnsureKeyValue(ctx, js, s.SubscriptionsBucketConfig()); err != nil {
		return h, err
	}
	if h.Webhooks, err = EnsureStream(ctx, js, s.WebhookStreamConfig()); err != nil {
		return h, err
	}
	if h.Deliveries, err = EnsureKeyValue(ctx, js, s.DeliveriesBucketConfig()); err != nil {
		return h, err
	}
	if h.LiveDeliveries, err = js.Stream(ctx, webhook.LiveStream); err != nil {
		return h, fmt.Errorf("stream %s: %w", webhook.LiveStream, err)
	}
	if h.History, err = s.KeepHistory(ctx, js, time.Now()); err != nil {
		return h, err
	}
	return h, nil
}

// Ending returns what ends and settles deliveries in h, publishing with pub.
func (h Handles) Ending(pub webhook.Publisher) webhook.Ending {
	return webhook.Ending{Tasks: h.Webhooks, Deliveries: h.Deliveries,
		Settler: webhook.Settler{Pub: pub, Tasks: h.Webhooks, LiveStream: h.LiveDeliveries}}
}
