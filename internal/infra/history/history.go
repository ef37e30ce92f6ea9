// Package history names the history, the complete and replayable log of
// invoiced: every invoice event and every settled delivery record, copied
// by JetStream itself (stream sourcing) from the live streams into a
// series of segment streams, under a fixed set of subjects, so it costs no
// memory per invoice however long it grows. Read models are rebuilt from
// it and replay reads it.
package history

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Partitions is how many subjects each kind of record is spread over, by a
// hash of its ID; the count never grows.
const Partitions = 16

// Subjects of the history stream.
const (
	// All matches every message of the stream.
	All = "history.>"
	// Invoices matches every invoice event: history.invoices.<partition>.<kind>.
	Invoices = "history.invoices.>"
	// Deliveries matches every settled delivery record:
	// history.deliveries.<partition>.
	Deliveries = "history.deliveries.>"
)

// InvoiceTransforms returns how the history sources the events of the
// INVOICES stream: invoices.<id>.<kind>.<account>, and invoices.<id>.<kind>
// for events stored before accounts existed, both onto
// history.invoices.<partition>.<kind>, the partition a hash of the ID. The
// account stays in the copy's origin subject (see OriginOf).
func InvoiceTransforms() []jetstream.SubjectTransformConfig {
	dest := fmt.Sprintf("history.invoices.{{partition(%d,1)}}.{{wildcard(2)}}", Partitions)
	return []jetstream.SubjectTransformConfig{
		{Source: events.SubjectPrefix + ".*.*.*", Destination: dest},
		{Source: events.SubjectPrefix + ".*.*", Destination: dest},
	}
}

// DeliveryTransform returns the destination subject pattern that sources
// settled delivery records, webhooks.<subscription>.<delivery>.done, into
// the history.
func DeliveryTransform() string {
	return fmt.Sprintf("history.deliveries.{{partition(%d,2)}}", Partitions)
}

// Origin is where a history message was copied from.
type Origin struct {
	// Stream is the stream it was stored in first.
	Stream string
	// Seq is its sequence there.
	Seq uint64
	// Subject is its subject there.
	Subject string
}

// ErrNoOrigin is returned, wrapped, by OriginOf for a message that JetStream
// did not copy from another stream.
var ErrNoOrigin = errors.New("not a sourced message")

// sourceHeader is the header JetStream sets on every sourced message:
// "<stream> <sequence> <filters> <transforms> <original subject> [<identity>]".
const sourceHeader = "Nats-Stream-Source"

// OriginOf returns the origin of a history message from its headers. It
// fails with ErrNoOrigin when the header is missing or malformed.
func OriginOf(h nats.Header) (Origin, error) {
	v := h.Get(sourceHeader)
	fields := strings.Split(v, " ")
	if len(fields) < 5 {
		return Origin{}, fmt.Errorf("%w: %s %q", ErrNoOrigin, sourceHeader, v)
	}
	seq, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil || fields[4] == "" {
		return Origin{}, fmt.Errorf("%w: %s %q", ErrNoOrigin, sourceHeader, v)
	}
	stream, _, _ := strings.Cut(fields[0], ":")
	return Origin{Stream: stream, Seq: seq, Subject: fields[4]}, nil
}
