package events

import (
	"fmt"

	"github.com/google/uuid"
)

// namespace is the UUIDv5 namespace of every ID invoiced derives.
var namespace = uuid.MustParse("8a4f2c1e-5b7d-4e39-9c0a-6d1f3b2e7a58")

// InvoiceID returns the ID of the invoice created by the request with
// Idempotency-Key key, sent by caller to endpoint: a UUIDv5 over the three
// (each length-prefixed, so no two triples collide),
// so every retry of that request names the same invoice and the stream's
// subject index can act as the unique constraint on the scoped key.
func InvoiceID(caller, endpoint, key string) string {
	return uuid.NewSHA1(namespace, []byte(fmt.Sprintf("%d:%s%d:%s%d:%s",
		len(caller), caller, len(endpoint), endpoint, len(key), key))).String()
}

// EventID returns the ID of the event of type t about the invoice id. It is
// derived, not random, so whoever builds the event again after a crash
// builds the same one, and the ID doubles as its Nats-Msg-Id. An invoice has
// one outcome, so InvoiceProcessed and InvoiceFailed share an ID: at most one
// of them is ever stored.
func EventID(invoiceID string, t Type) string {
	kind := "outcome"
	if t == InvoiceRequested {
		kind = "requested"
	}
	return uuid.NewSHA1(namespace, []byte(invoiceID+"\x00"+kind)).String()
}
