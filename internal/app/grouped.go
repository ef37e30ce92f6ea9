package app

import (
	"context"
	"strings"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/groupcommit"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// groupedJetStream is a JetStream context whose publishes to INVOICES and
// WEBHOOKS go through one group-commit writer per stream, so that the
// concurrent writers of every role in the process share disk syncs.
type groupedJetStream struct {
	jetstream.JetStream
	invoices, webhooks *groupcommit.Writer
}

// webhooksPrefix starts every subject of the WEBHOOKS stream.
var webhooksPrefix = strings.TrimSuffix(webhook.AllTasks, ">")

// newGroupedJetStream returns js grouping its publishes, with batches sent
// through nc. Close stops its writers.
func newGroupedJetStream(nc *nats.Conn, js jetstream.JetStream) (*groupedJetStream, error) {
	invoices, err := groupcommit.New(nc, js, groupcommit.Config{})
	if err != nil {
		return nil, err
	}
	webhooks, err := groupcommit.New(nc, js, groupcommit.Config{})
	if err != nil {
		invoices.Close()
		return nil, err
	}
	return &groupedJetStream{JetStream: js, invoices: invoices, webhooks: webhooks}, nil
}

// PublishMsg publishes msg through its stream's writer, or directly when it
// is for neither stream.
func (g *groupedJetStream) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	switch {
	case strings.HasPrefix(msg.Subject, events.SubjectPrefix+"."):
		return g.invoices.PublishMsg(ctx, msg, opts...)
	case strings.HasPrefix(msg.Subject, webhooksPrefix):
		return g.webhooks.PublishMsg(ctx, msg, opts...)
	}
	return g.JetStream.PublishMsg(ctx, msg, opts...)
}

// stats returns what each stream's writer has sent, by stream name.
func (g *groupedJetStream) stats() map[string]func() groupcommit.Stats {
	return map[string]func() groupcommit.Stats{
		events.StreamInvoices:  g.invoices.Stats,
		webhook.StreamWebhooks: g.webhooks.Stats,
	}
}

// Close publishes what is queued and stops both writers.
func (g *groupedJetStream) Close() {
	g.invoices.Close()
	g.webhooks.Close()
}
