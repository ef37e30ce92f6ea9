package metrics

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Consumer names a durable consumer whose lag is reported.
type Consumer struct{ Stream, Name string }

// ConsumerReader reads a consumer; jetstream.JetStream is one.
type ConsumerReader interface {
	Consumer(ctx context.Context, stream, name string) (jetstream.Consumer, error)
}

// WatchConsumers reports, at every scrape, how many messages each of
// consumers has yet to be given (pending) and has been given but not
// acknowledged (ack pending). A consumer that cannot be read within two
// seconds is left out of that scrape. It fails when called twice.
func (m *Metrics) WatchConsumers(js ConsumerReader, consumers ...Consumer) error {
	return m.reg.Register(&consumerLag{js: js, consumers: consumers})
}

var (
	pendingDesc = prometheus.NewDesc("invoiced_consumer_pending_messages",
		"Messages a durable consumer has yet to deliver.", []string{"stream", "consumer"}, nil)
	ackPendingDesc = prometheus.NewDesc("invoiced_consumer_ack_pending_messages",
		"Messages a durable consumer delivered and awaits acknowledgements for.", []string{"stream", "consumer"}, nil)
)

type consumerLag struct {
	js        ConsumerReader
	consumers []Consumer
}

// Describe sends the descriptions of the lag metrics.
func (c *consumerLag) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- ackPendingDesc
}

// Collect reads every consumer's info and sends its lag.
func (c *consumerLag) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, cc := range c.consumers {
		cons, err := c.js.Consumer(ctx, cc.Stream, cc.Name)
		if err != nil {
			continue
		}
		info, err := cons.Info(ctx)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(info.NumPending), cc.Stream, cc.Name)
		ch <- prometheus.MustNewConstMetric(ackPendingDesc, prometheus.GaugeValue, float64(info.NumAckPending), cc.Stream, cc.Name)
	}
}
