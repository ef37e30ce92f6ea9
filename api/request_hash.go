package api

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/invoiced/invoiced/events"
)

// hashPrefix names the algorithm of a request hash.
const hashPrefix = "sha256:"

// hash returns a fingerprint of the canonical request, which tells a retry
// from a different request that reuses an idempotency key. It is the
// SHA-256 of the request's json.Marshal encoding, and is stored in events:
// it must never change for a given request.
func (r invoiceRequest) hash() string {
	bp := getBuffer()
	b := r.appendJSON(*bp)
	sum := sha256.Sum256(b)
	putBuffer(bp, b)
	var out [len(hashPrefix) + 2*sha256.Size]byte
	copy(out[:], hashPrefix)
	hex.Encode(out[len(hashPrefix):], sum[:])
	return string(out[:])
}

// appendJSON appends r exactly as json.Marshal encodes it: fields in
// declaration order, metadata keys sorted.
func (r invoiceRequest) appendJSON(b []byte) []byte {
	b = append(b, `{"customer_id":`...)
	b = events.AppendString(b, r.CustomerID)
	b = append(b, `,"amount_cents":`...)
	b = strconv.AppendInt(b, r.AmountCents, 10)
	b = append(b, `,"currency":`...)
	b = events.AppendString(b, r.Currency)
	b = append(b, `,"description":`...)
	b = events.AppendString(b, r.Description)
	b = append(b, `,"metadata":`...)
	b = events.AppendStringMap(b, r.Metadata)
	return append(b, '}')
}
