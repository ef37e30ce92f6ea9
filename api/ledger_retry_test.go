package api

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// losingPublisher publishes through real JetStream but loses the answers
// of its first lost calls, as a leader that dies after storing does: the
// caller hears nothing until its context ends.
type losingPublisher struct {
	js    jetstream.JetStream
	lost  int64
	calls atomic.Int64
	store bool // whether a lost call stores its message first
}

func (p *losingPublisher) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if p.calls.Add(1) > p.lost {
		return p.js.PublishMsg(ctx, msg, opts...)
	}
	if p.store {
		if _, err := p.js.PublishMsg(context.Background(), msg, opts...); err != nil {
			return nil, err
		}
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCreateTriesAgainWhenAPublishGoesUnanswered(t *testing.T) {
	req := invoiceRequest{CustomerID: "cust_1", AmountCents: 100, Currency: "USD"}
	tests := []struct {
		name  string
		lost  int64
		store bool
	}{
		{"the lost attempt stored nothing", 2, false},
		{"the lost attempt stored the invoice", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := natstest.Start(t, natstest.Options{})
			_, js := natstest.Connect(t, srv)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h := statetest.Streams(t, js, broker.Streams{})
			model, lag := statetest.Model(t, js, h)
			st := h.Invoices
			pub := &losingPublisher{js: js, lost: tt.lost, store: tt.store}
			l := NewLedger(pub, st, model, lag, time.Minute)
			l.attempt = 100 * time.Millisecond
			inv, existed, err := l.Create(ctx, "", "key", req)
			if err != nil || existed || inv.ID == "" {
				t.Fatalf("Create = %s, existed %v, %v", inv.ID, existed, err)
			}
			if got := pub.calls.Load(); got != tt.lost+1 {
				t.Errorf("%d publish attempts, want %d", got, tt.lost+1)
			}
			if info, err := st.Info(ctx); err != nil || info.State.Msgs != 1 {
				t.Fatalf("stream holds %v messages (%v), want 1", info.State.Msgs, err)
			}
			// A client's own retry is still a replay.
			again, existed, err := NewLedger(js, st, model, lag, time.Minute).Create(ctx, "", "key", req)
			if err != nil || !existed || again.ID != inv.ID {
				t.Fatalf("retry: %s, existed %v, %v", again.ID, existed, err)
			}
		})
	}
}

func TestCreateGivesUpWithTheRequest(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	h := statetest.Streams(t, js, broker.Streams{})
	model, lag := statetest.Model(t, js, h)
	l := NewLedger(&losingPublisher{js: js, lost: 1 << 40}, h.Invoices, model, lag, time.Minute)
	l.attempt = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, _, err := l.Create(ctx, "", "key", invoiceRequest{CustomerID: "c", AmountCents: 1, Currency: "USD"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Create after the request's time = %v, want unavailable", err)
	}
}
