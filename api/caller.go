package api

import (
	"context"

	"github.com/invoiced/invoiced/events"
)

// DefaultCaller is the account of requests that carry no identity: every
// request of a service without API keys.
const DefaultCaller = events.DefaultAccount

// Caller is whom a request is admitted as.
type Caller struct {
	// Account owns what the request creates, and is all it sees unless
	// Operator. Idempotency keys are scoped per account.
	Account string
	// Operator callers see and manage every account.
	Operator bool
}

type callerKey struct{}

// WithCaller returns a context that names the caller of a request; an
// authentication middleware sets it.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller named in ctx, or the DefaultCaller account
// without operator rights.
func CallerFrom(ctx context.Context) Caller {
	if c, ok := ctx.Value(callerKey{}).(Caller); ok && c.Account != "" {
		return c
	}
	return Caller{Account: DefaultCaller}
}

// Sees reports whether c may see what account owns.
func (c Caller) Sees(account string) bool {
	if account == "" {
		account = DefaultCaller
	}
	return c.Operator || c.Account == account
}
