package groupcommit

import (
	"context"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream is a JetStream context whose publishes to some streams go
// through a Writer per stream, chosen by subject prefix, so that every
// writer in a process shares its streams' syncs; other publishes go
// directly.
type JetStream struct {
	jetstream.JetStream
	writers  map[string]*Writer // by stream
	prefixes map[string]string  // subject prefix by stream
}

// Group returns js with the publishes whose subjects start with
// prefixes[stream] sent through a Writer for that stream, configured as cfg
// and sending its batches through nc. Close stops the writers. It fails
// when cfg is invalid.
func Group(nc Requester, js jetstream.JetStream, cfg Config, prefixes map[string]string) (*JetStream, error) {
	g := &JetStream{JetStream: js, writers: map[string]*Writer{}, prefixes: prefixes}
	for stream := range prefixes {
		w, err := New(nc, js, cfg)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.writers[stream] = w
	}
	return g, nil
}

// PublishMsg publishes msg through its stream's Writer, or directly when
// no prefix matches its subject.
func (g *JetStream) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	for stream, prefix := range g.prefixes {
		if strings.HasPrefix(msg.Subject, prefix) {
			return g.writers[stream].PublishMsg(ctx, msg, opts...)
		}
	}
	return g.JetStream.PublishMsg(ctx, msg, opts...)
}

// Writers returns the Writer of each stream, by stream name.
func (g *JetStream) Writers() map[string]*Writer { return g.writers }

// StatsOf returns what reads the sum of the stats of stream's writers in
// each of gs, counting a writer they share once.
func StatsOf(stream string, gs ...*JetStream) func() Stats {
	var ws []*Writer
	for _, g := range gs {
		if w := g.writers[stream]; w != nil && !slices.Contains(ws, w) {
			ws = append(ws, w)
		}
	}
	return func() Stats {
		var sum Stats
		for _, w := range ws {
			sum = sum.Add(w.Stats())
		}
		return sum
	}
}

// Close publishes what is queued and stops every Writer.
func (g *JetStream) Close() {
	for _, w := range g.writers {
		w.Close()
	}
}
