// Package consume runs JetStream message handlers: it settles each message
// from the error its handler returns and spreads the work over a bounded
// pool of goroutines.
package consume

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Handler handles one message. It returns nil when the message is done,
// an error made by Permanent when it can never succeed, and any other error
// when it should be tried again later.
type Handler func(ctx context.Context, msg jetstream.Msg) error

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that no redelivery can fix: the message is
// terminated instead of retried. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was made by
// Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type retryAfterError struct {
	err   error
	delay time.Duration
}

func (r retryAfterError) Error() string { return r.err.Error() }
func (r retryAfterError) Unwrap() error { return r.err }

// RetryAfter marks err as transient with a chosen delay before the next
// delivery, in place of the backoff. RetryAfter(nil, d) is nil.
func RetryAfter(err error, delay time.Duration) error {
	if err == nil {
		return nil
	}
	return retryAfterError{err, delay}
}

// Backoff returns the delay before redelivering a message that has been
// delivered n times (n ≥ 1).
type Backoff func(n uint64) time.Duration

// ExponentialBackoff doubles from base up to max.
func ExponentialBackoff(base, max time.Duration) Backoff {
	return func(n uint64) time.Duration {
		d := base
		for i := uint64(1); i < n && d < max; i++ {
			if d > max/2 {
				return max
			}
			d *= 2
		}
		return min(d, max)
	}
}

// Outcome is how a message was settled.
type Outcome int

// The outcomes of Settle.
const (
	Acked Outcome = iota
	Terminated
	Retried
)

// Settle turns a handler's result into the message's acknowledgement: nil
// acks, a Permanent error terminates, any other error naks with the delay
// from RetryAfter or else from backoff (a plain nak when backoff is nil). It returns what it did and the error
// of the acknowledgement itself, which only means the server may redeliver.
func Settle(msg jetstream.Msg, err error, backoff Backoff) (Outcome, error) {
	switch {
	case err == nil:
		return Acked, msg.Ack()
	case IsPermanent(err):
		return Terminated, msg.TermWithReason(err.Error())
	}
	var ra retryAfterError
	if errors.As(err, &ra) {
		return Retried, msg.NakWithDelay(ra.delay)
	}
	if backoff == nil {
		return Retried, msg.Nak()
	}
	n := uint64(1)
	if md, mdErr := msg.Metadata(); mdErr == nil {
		n = md.NumDelivered
	}
	return Retried, msg.NakWithDelay(backoff(n))
}
