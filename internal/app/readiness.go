package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/invoiced/invoiced/processor"
)

// markIndexTarget records how far the list index must catch up before the
// api role reports ready: the stream's last sequence at start.
func (s *Service) markIndexTarget(index *api.Index) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := s.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", events.StreamInvoices, err)
	}
	s.index, s.indexTarget = index, info.State.LastSeq
	return nil
}

// ready is the /readyz check: NATS connected, the stream and consumers
// answering, and the list index rebuilt up to where the stream was at start.
func (s *Service) ready(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("NATS is %s", s.nc.Status())
	}
	if s.deliveryIndex != nil && !s.deliveryIndex.Loaded() {
		return errors.New("loading the delivery log")
	}
	if s.index != nil {
		if at := s.index.Applied(); at < s.indexTarget {
			return fmt.Errorf("rebuilding the invoice index: at %d of %d", at, s.indexTarget)
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
