package events_test

import (
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// encodeInput is one input of FuzzEncode: an event in fuzzable pieces.
type encodeInput struct {
	schema                                 int
	id, typ                                string
	invoiceID, status, customer            string
	amount                                 int64
	currency, description, reason          string
	caller, endpoint, key, hash            string
	k1, v1, k2, v2                         string
	time, createdAt, processedAt, failedAt int64
	zone                                   int32
	flags                                  uint8
}

// The bits of encodeInput.flags.
const (
	withMetadata    = 1 << iota // a non-nil map, holding the pairs below
	withPair1                   // k1: v1
	withPair2                   // k2: v2
	withIdempotency             // a non-nil idempotency record
	withProcessedAt             // a non-nil ProcessedAt
	withFailedAt                // a non-nil FailedAt
	inZone                      // times in a fixed zone of offset zone seconds
	inSeconds                   // times are Unix seconds, not nanoseconds
)

func (in encodeInput) add(f *testing.F) {
	f.Add(in.schema, in.id, in.typ, in.invoiceID, in.status, in.customer, in.amount,
		in.currency, in.description, in.reason, in.caller, in.endpoint, in.key, in.hash,
		in.k1, in.v1, in.k2, in.v2, in.time, in.createdAt, in.processedAt, in.failedAt,
		in.zone, in.flags)
}

func (in encodeInput) event() events.Event {
	e := events.Event{
		Schema: in.schema, ID: in.id, Type: events.Type(in.typ), Time: in.at(in.time),
		Invoice: events.Invoice{
			ID: in.invoiceID, Status: events.Status(in.status), CustomerID: in.customer,
			AmountCents: in.amount, Currency: in.currency, Description: in.description,
			CreatedAt: in.at(in.createdAt), FailureReason: in.reason,
		},
	}
	if in.flags&withMetadata != 0 {
		e.Invoice.Metadata = map[string]string{}
		if in.flags&withPair1 != 0 {
			e.Invoice.Metadata[in.k1] = in.v1
		}
		if in.flags&withPair2 != 0 {
			e.Invoice.Metadata[in.k2] = in.v2
		}
	}
	if in.flags&withIdempotency != 0 {
		e.Idempotency = &events.Idempotency{Caller: in.caller, Endpoint: in.endpoint, Key: in.key, RequestHash: in.hash}
	}
	if in.flags&withProcessedAt != 0 {
		at := in.at(in.processedAt)
		e.Invoice.ProcessedAt = &at
	}
	if in.flags&withFailedAt != 0 {
		at := in.at(in.failedAt)
		e.Invoice.FailedAt = &at
	}
	return e
}

// at returns the time n stands for under in.flags.
func (in encodeInput) at(n int64) time.Time {
	t := time.Unix(0, n)
	if in.flags&inSeconds != 0 {
		t = time.Unix(n, n%1e9)
	}
	if in.flags&inZone != 0 {
		return t.In(time.FixedZone("Z", int(in.zone)))
	}
	return t.UTC()
}

func encodeSeeds() []encodeInput {
	nanos := createdAt.UnixNano()
	typical := encodeInput{
		schema: 1, id: "c0ffee", typ: string(events.InvoiceRequested),
		invoiceID: testInvoiceID, status: "created", customer: "cus_42", amount: 12345,
		currency: "EUR", description: "Consulting, <March> & \"more\" — ünïcode",
		caller: "caller-1", endpoint: "POST /invoices", key: "key-1", hash: "sha256:0123",
		k1: "po", v1: "PO-7", k2: "empty",
		time: nanos, createdAt: nanos, processedAt: nanos + 1500, failedAt: nanos + 7,
		flags: withMetadata | withPair1 | withPair2 | withIdempotency,
	}
	seeds := []encodeInput{typical}
	for _, flags := range []uint8{0, withMetadata, withProcessedAt | withFailedAt, inSeconds, inZone | withProcessedAt, 0xff} {
		in := typical
		in.flags = flags
		in.zone = 5*3600 + 1800
		seeds = append(seeds, in)
	}
	for _, s := range trickyStrings {
		in := typical
		in.description, in.k1, in.v2, in.reason, in.typ = s, s, s, s, s
		seeds = append(seeds, in)
	}
	far := typical
	far.time, far.createdAt, far.flags, far.zone = 253402300800, -62167219201, inSeconds|inZone, 86400
	return append(seeds, far)
}

func FuzzEncode(f *testing.F) {
	for _, in := range encodeSeeds() {
		in.add(f)
	}
	f.Fuzz(func(t *testing.T, schema int, id, typ, invoiceID, status, customer string, amount int64,
		currency, description, reason, caller, endpoint, key, hash, k1, v1, k2, v2 string,
		at, createdAt, processedAt, failedAt int64, zone int32, flags uint8,
	) {
		in := encodeInput{
			schema, id, typ, invoiceID, status, customer, amount, currency, description, reason,
			caller, endpoint, key, hash, k1, v1, k2, v2, at, createdAt, processedAt, failedAt, zone, flags,
		}
		checkEncode(t, in.event())
	})
}
