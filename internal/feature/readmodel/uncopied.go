package readmodel

import (
	"context"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/history"
)

// passUncopied hands the writer, to pass over, the messages at the end of
// INVOICES that the history never copies (see history.Uncopied). The store
// holds INVOICES up to the last message applied, so without this one such
// message published last would keep it short of the stream's end until the
// next event, and a list, which waits for the stream's end, would wait as
// long. One followed by an event needs no pass: applying the event's copy
// moves the store past it.
func (f *Follower) passUncopied(ctx context.Context) {
	st, err := f.streams.Stream(ctx, events.StreamInvoices)
	if err != nil {
		f.log.Debug("read model: read INVOICES", "err", err)
		return
	}
	at, last := f.store.Position(events.StreamInvoices), st.CachedInfo().State.LastSeq
	if last <= at {
		return
	}
	msgs, err := history.Uncopied(ctx, st, at, last)
	if err != nil {
		f.log.Debug("read model: read INVOICES", "err", err)
	}
	for _, m := range msgs {
		origin := history.Origin{Stream: events.StreamInvoices, Seq: m.Sequence, Subject: m.Subject}
		f.send(item{change: change{origin: origin, bad: history.ErrUncopied}})
	}
}
