package metrics

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// The readers of stored messages whose skips are counted: the values of
// invoiced_undecodable_events_total's reader label.
const (
	// ReaderReadModel is the api role's read model, which lists and gets
	// read, following the history and the live delivery records.
	ReaderReadModel = "read_model"
	// ReaderConsole is the console, reading an invoice's events from the
	// INVOICES stream.
	ReaderConsole = "console"
	// ReaderProcessor is the processor, consuming requested invoices.
	ReaderProcessor = "processor"
	// ReaderDispatcher is the dispatcher, fanning events out and taking
	// delivery tasks.
	ReaderDispatcher = "dispatcher"
)

// Readers lists every value of the reader label. invoiced replay, a
// command of its own with no metrics served, reports its skips in its
// summary instead.
var Readers = []string{ReaderReadModel, ReaderConsole, ReaderProcessor, ReaderDispatcher}

// undecodableOpts describes the counter; each reader's series carries its
// name as a constant label, so the series together read as one counter
// labelled by reader.
var undecodableOpts = prometheus.CounterOpts{
	Name: "invoiced_undecodable_events_total",
	Help: "Stored messages a reader passed over because they are not valid events or records " +
		"(do not decode, are incomplete, or sit on a subject that does not parse), by reader; each is logged once with its stream, sequence and subject.",
}

// WatchUndecodable reports, at every scrape, how many stored messages
// reader has passed over as not valid events or records, as count returns
// it. It fails for a reader not in Readers and when called twice for one
// reader.
func (m *Metrics) WatchUndecodable(reader string, count func() uint64) error {
	if !slices.Contains(Readers, reader) {
		return fmt.Errorf("metrics: no reader %q", reader)
	}
	opts := undecodableOpts
	opts.ConstLabels = prometheus.Labels{"reader": reader}
	return m.reg.Register(prometheus.NewCounterFunc(opts, func() float64 { return float64(count()) }))
}
