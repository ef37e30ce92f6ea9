// Package invoicestream reads the INVOICES stream by subject, under both
// forms an event's subject may take (see events.Subject): the one that
// names the account, and the one of events stored before accounts existed.
package invoicestream

import (
	"context"
	"errors"

	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go/jetstream"
)

// LastGetter reads a stream's newest message under a subject filter;
// jetstream.Stream is one.
type LastGetter interface {
	GetLastMsgForSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error)
}

// LastOfType returns the newest message of type t about the invoice id on
// st, in either subject form. It fails with jetstream.ErrMsgNotFound when
// st holds none, and as st fails otherwise.
func LastOfType(ctx context.Context, st LastGetter, id string, t events.Type) (*jetstream.RawStreamMsg, error) {
	var newest *jetstream.RawStreamMsg
	for _, subject := range events.EventSubjects(id, t) {
		msg, err := st.GetLastMsgForSubject(ctx, subject)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			continue
		case err != nil:
			return nil, err
		case newest == nil || msg.Sequence > newest.Sequence:
			newest = msg
		}
	}
	if newest == nil {
		return nil, jetstream.ErrMsgNotFound
	}
	return newest, nil
}
