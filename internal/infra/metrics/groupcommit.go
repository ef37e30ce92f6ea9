package metrics

import (
	"maps"

	"github.com/invoiced/invoiced/internal/infra/groupcommit"
	"github.com/prometheus/client_golang/prometheus"
)

// WatchGroupCommit registers what the group-commit writer of stream has
// sent, read from stats when scraped: messages in batches and alone,
// batches, and batches the stream refused (then sent message by message).
func (m *Metrics) WatchGroupCommit(stream string, stats func() groupcommit.Stats) error {
	labels := prometheus.Labels{"stream": stream}
	counters := []struct {
		name, help string
		sent       string
		value      func(groupcommit.Stats) uint64
	}{
		{"invoiced_publish_grouped_messages_total", "Messages published through the stream's group-commit writer, by how they were sent: in an atomic batch (one disk sync for all) or alone.", "batch", func(s groupcommit.Stats) uint64 { return s.Batched }},
		{"invoiced_publish_grouped_messages_total", "", "single", func(s groupcommit.Stats) uint64 { return s.Singles }},
		{"invoiced_publish_batches_total", "Atomic batches the stream stored.", "", func(s groupcommit.Stats) uint64 { return s.Batches }},
		{"invoiced_publish_batches_refused_total", "Atomic batches the stream refused (one message failed a condition); their messages were then published one by one.", "", func(s groupcommit.Stats) uint64 { return s.Refused }},
	}
	for _, c := range counters {
		l := maps.Clone(labels)
		if c.sent != "" {
			l["sent"] = c.sent
		}
		help := c.help
		if help == "" {
			help = counters[0].help
		}
		value := c.value
		err := m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: help, ConstLabels: l},
			func() float64 { return float64(value(stats())) }))
		if err != nil {
			return err
		}
	}
	return nil
}
