package app

import (
	"context"
	"fmt"
	"time"

	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/processor"
)

// waitLogInterval is how often a start that waits for NATS or JetStream
// says so in the log.
const waitLogInterval = 5 * time.Second

// ready is the /readyz check: the start done, NATS connected, the stream
// and consumers answering, and the read model holding what the history
// held at start.
func (s *Service) ready(ctx context.Context) error {
	if err := s.starting.Check(); err != nil {
		return err
	}
	if !s.nc.IsConnected() {
		return fmt.Errorf("NATS is %s", s.nc.Status())
	}
	if s.follower != nil {
		if err := s.follower.Ready(); err != nil {
			return err
		}
	}
	if _, err := s.js.Stream(ctx, events.StreamInvoices); err != nil {
		return fmt.Errorf("stream %s: %w", events.StreamInvoices, err)
	}
	if s.proc != nil {
		if _, err := s.js.Consumer(ctx, events.StreamInvoices, processor.ConsumerName); err != nil {
			return fmt.Errorf("consumer %s: %w", processor.ConsumerName, err)
		}
	}
	if s.disp != nil {
		if _, err := s.js.Consumer(ctx, webhook.StreamWebhooks, dispatcher.DeliveryConsumer); err != nil {
			return fmt.Errorf("consumer %s: %w", dispatcher.DeliveryConsumer, err)
		}
	}
	return nil
}

// logWaiting logs what the start waits for, where, for how long and why.
func (s *Service) logWaiting() { s.starting.LogWaiting(s.log, s.cfg.NATSWhere()) }
