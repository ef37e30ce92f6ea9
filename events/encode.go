package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Encode returns the event's JSON encoding: the bytes json.Marshal writes for
// the Event. It fails when a time cannot be written as RFC 3339, that is when
// its year is outside 0 to 9999 or its zone offset is 24 hours or more.
func Encode(e Event) ([]byte, error) {
	buf := encodeBuffers.Get().(*[]byte)
	defer releaseBuffer(buf)
	b, ok := appendEvent((*buf)[:0], &e)
	if !ok {
		return marshal(e)
	}
	*buf = b
	return append([]byte(nil), b...), nil
}

// encodeBuffers holds the scratch buffers Encode appends into before it
// copies the encoding out at its exact size.
var encodeBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// maxPooledBuffer is the largest buffer encodeBuffers keeps, so that one
// huge event does not pin its buffer for good.
const maxPooledBuffer = 64 << 10

// releaseBuffer returns buf to encodeBuffers unless it outgrew
// maxPooledBuffer.
func releaseBuffer(buf *[]byte) {
	if cap(*buf) <= maxPooledBuffer {
		encodeBuffers.Put(buf)
	}
}

// AppendEncode appends the event's JSON encoding, the bytes Encode returns,
// to dst and returns the extended slice, so a caller can reuse one buffer for
// many events. It fails when Encode fails, and then returns dst unchanged.
func AppendEncode(dst []byte, e Event) ([]byte, error) {
	b, ok := appendEvent(dst, &e)
	if !ok {
		enc, err := marshal(e)
		if err != nil {
			return dst, err
		}
		return append(dst, enc...), nil
	}
	return b, nil
}

// marshal encodes e with encoding/json, whose output and errors appendEvent
// reproduces. It runs only where appendEvent gives up.
func marshal(e Event) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", e.Type, e.ID, err)
	}
	return b, nil
}

// appendEvent appends e's encoding to b. It returns nil and false when a
// time cannot be encoded.
func appendEvent(b []byte, e *Event) ([]byte, bool) {
	b = append(b, `{"schema":`...)
	b = strconv.AppendInt(b, int64(e.Schema), 10)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, string(e.Type))
	b = append(b, `,"time":`...)
	b, ok := appendTime(b, e.Time)
	if !ok {
		return nil, false
	}
	b = append(b, `,"invoice":`...)
	if b, ok = appendInvoice(b, &e.Invoice); !ok {
		return nil, false
	}
	if idem := e.Idempotency; idem != nil {
		b = append(b, `,"idempotency":{"caller":`...)
		b = appendString(b, idem.Caller)
		b = append(b, `,"endpoint":`...)
		b = appendString(b, idem.Endpoint)
		b = append(b, `,"key":`...)
		b = appendString(b, idem.Key)
		b = append(b, `,"request_hash":`...)
		b = appendString(b, idem.RequestHash)
		b = append(b, '}')
	}
	return append(b, '}'), true
}

// appendInvoice appends inv's encoding to b. It returns nil and false when
// a time cannot be encoded.
func appendInvoice(b []byte, inv *Invoice) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = appendString(b, inv.ID)
	if inv.Account != "" {
		b = append(b, `,"account":`...)
		b = appendString(b, inv.Account)
	}
	b = append(b, `,"status":`...)
	b = appendString(b, string(inv.Status))
	b = append(b, `,"customer_id":`...)
	b = appendString(b, inv.CustomerID)
	b = append(b, `,"amount_cents":`...)
	b = strconv.AppendInt(b, inv.AmountCents, 10)
	b = append(b, `,"currency":`...)
	b = appendString(b, inv.Currency)
	b = append(b, `,"description":`...)
	b = appendString(b, inv.Description)
	b = append(b, `,"metadata":`...)
	b = appendMetadata(b, inv.Metadata)
	b = append(b, `,"created_at":`...)
	b, ok := appendTime(b, inv.CreatedAt)
	if ok && inv.ProcessedAt != nil {
		b = append(b, `,"processed_at":`...)
		b, ok = appendTime(b, *inv.ProcessedAt)
	}
	if ok && inv.FailedAt != nil {
		b = append(b, `,"failed_at":`...)
		b, ok = appendTime(b, *inv.FailedAt)
	}
	if !ok {
		return nil, false
	}
	if inv.FailureReason != "" {
		b = append(b, `,"failure_reason":`...)
		b = appendString(b, inv.FailureReason)
	}
	return append(b, '}'), true
}

// appendTime appends t quoted, as time.Time.MarshalJSON writes it. It
// returns nil and false where MarshalJSON fails.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, false
	}
	return append(b, '"'), true
}

// metadataPair is one metadata entry, for sorting by key.
type metadataPair struct{ key, value string }

// appendMetadata appends m as encoding/json writes a map: null when m is nil,
// otherwise an object with its keys in byte order.
func appendMetadata(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var stack [8]metadataPair
	pairs := stack[:0]
	for k, v := range m {
		pairs = append(pairs, metadataPair{k, v})
	}
	slices.SortFunc(pairs, func(x, y metadataPair) int { return strings.Compare(x.key, y.key) })
	b = append(b, '{')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p.key)
		b = append(b, ':')
		b = appendString(b, p.value)
	}
	return append(b, '}')
}
