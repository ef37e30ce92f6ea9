package app

import (
	"context"
	"fmt"

	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/invoiced/invoiced/processor"
)

// ready is the /readyz check: NATS connected, the stream and consumers
// answering, and the read model holding what the history held at start.
func (s *Service) ready(ctx context.Context) error {
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
