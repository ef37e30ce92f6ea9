package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go/jetstream"
)

// CopiesInvoice reports whether the history copies a message stored on
// INVOICES under subject. The segments copy invoices.*.* and invoices.*.*.*
// (see InvoiceTransforms), so a message published under any other subject
// of the stream, such as invoices.<id> or invoices.<id>.<kind>.<a>.<b>,
// stays on INVOICES alone and never reaches a read model.
func CopiesInvoice(subject string) bool {
	rest, ok := strings.CutPrefix(subject, events.SubjectPrefix+".")
	if !ok {
		return false
	}
	tokens := strings.Split(rest, ".")
	return (len(tokens) == 2 || len(tokens) == 3) && !slices.Contains(tokens, "")
}

// MsgGetter reads a stream's messages by sequence; jetstream.Stream is one.
type MsgGetter interface {
	GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error)
}

// maxUncopied bounds the messages one call of Uncopied reads.
const maxUncopied = 1000

// Uncopied returns, oldest first, the messages of INVOICES (st) after
// sequence floor and up to last that the history never copies, for as long
// as they follow one another: it stops at the first message the history
// copies or that the stream no longer holds, and after maxUncopied. Whoever
// waits for the history to hold INVOICES up to last may pass them, since
// no copy of them will come. It fails when st cannot be read.
func Uncopied(ctx context.Context, st MsgGetter, floor, last uint64) ([]*jetstream.RawStreamMsg, error) {
	var out []*jetstream.RawStreamMsg
	for seq := floor + 1; seq <= last && len(out) < maxUncopied; seq++ {
		msg, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s %d: %w", events.StreamInvoices, seq, err)
		}
		if CopiesInvoice(msg.Subject) {
			break
		}
		out = append(out, msg)
	}
	return out, nil
}

// ErrUncopied is what is wrong, for a reader that passes it, with a
// message Uncopied returns.
var ErrUncopied = fmt.Errorf("%w: the history does not copy it", events.ErrBadSubject)
