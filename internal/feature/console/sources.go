package console

import (
	"context"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// HistoryReader reads an invoice's events, which the API does not show.
type HistoryReader interface {
	// History returns the events stored for invoiceID, oldest first; none
	// for an unknown invoice.
	History(ctx context.Context, invoiceID string) ([]events.Event, error)
}

// HealthReader reads what the health panel needs beyond the API.
type HealthReader interface {
	// Health returns the durable consumers' lag and the dead letter count.
	Health(ctx context.Context) (Health, error)
}

// LagReader reads the durable consumers' lag.
type LagReader interface {
	// Lag returns each durable consumer's lag, or why it is unreadable.
	Lag(ctx context.Context) []ConsumerLag
}

// ActivityReader reads what the charts draw; *readmodel.Activity is one.
type ActivityReader interface {
	// Minutes returns the last hour's counts of of, a minute each, the
	// current one last.
	Minutes(of readmodel.Scope) []readmodel.Minute
	// Since returns when counting began.
	Since() time.Time
}

// Sources are the console's readers beside the API; a nil one is shown as
// unavailable.
type Sources struct {
	History  HistoryReader
	Health   HealthReader
	Lag      LagReader
	Activity ActivityReader
}

// Health is the state of the service's queues.
type Health struct {
	// Consumers are the durable consumers, each with its lag.
	Consumers []ConsumerLag
	// Dead is how many deliveries are dead letters.
	Dead int
}

// ConsumerLag is one durable consumer's backlog.
type ConsumerLag struct {
	Stream string
	Name   string
	// Pending counts the messages it has yet to deliver.
	Pending uint64
	// AckPending counts those delivered and not yet acknowledged.
	AckPending uint64
	// Error, when not empty, says why the consumer could not be read; the
	// counts are then meaningless.
	Error string
}
