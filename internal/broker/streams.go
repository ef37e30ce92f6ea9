package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/invoiced/invoiced/events"
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
}

// Validate reports the first problem with the configuration.
func (s Streams) Validate() error {
	if s.Replicas < 0 || s.Replicas > 5 {
		return fmt.Errorf("replicas must be 1 to 5, not %d", s.Replicas)
	}
	if s.DedupWindow < 0 {
		return fmt.Errorf("dedup window must not be negative, not %s", s.DedupWindow)
	}
	return nil
}

// InvoiceStreamConfig returns the configuration of the INVOICES stream:
// every invoice event, kept without limits (an invoice exists for as long as
// its events do), single messages undeletable, direct gets allowed so the
// current state of an invoice is one read.
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
		AllowDirect: true,
		DenyDelete:  true,
	}
}

// StreamCreator is the part of jetstream.JetStream that EnsureStream needs.
type StreamCreator interface {
	CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error)
}

// EnsureStream creates the stream or brings an existing one to cfg, and
// returns it. Processes that start at once against one NATS race here; the
// loser of a create race updates instead, so both succeed. It fails when
// JetStream refuses the configuration or cannot be reached before ctx ends.
func EnsureStream(ctx context.Context, js StreamCreator, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		st, err := js.CreateOrUpdateStream(ctx, cfg)
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
