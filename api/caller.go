package api

import "context"

// DefaultCaller is the caller of requests that carry no identity. Idempotency
// keys are scoped per caller.
const DefaultCaller = "default"

type callerKey struct{}

// WithCaller returns a context that names the caller of a request; an
// authentication middleware sets it.
func WithCaller(ctx context.Context, caller string) context.Context {
	return context.WithValue(ctx, callerKey{}, caller)
}

// CallerFrom returns the caller named in ctx, or DefaultCaller.
func CallerFrom(ctx context.Context) string {
	if c, ok := ctx.Value(callerKey{}).(string); ok && c != "" {
		return c
	}
	return DefaultCaller
}
