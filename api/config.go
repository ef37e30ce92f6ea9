package api

import (
	"fmt"
	"log/slog"
	"time"
)

// DefaultRequestTimeout bounds a request's JetStream work when a
// resource's configuration names no timeout.
const DefaultRequestTimeout = 10 * time.Second

// ResourceConfig holds the options every resource has.
type ResourceConfig struct {
	// RequestTimeout bounds the JetStream work of one request; past it the
	// request fails with 503. 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives server-side failures; nil discards them.
	Logger *slog.Logger
}

// InvoicesConfig holds the invoices resource's options.
type InvoicesConfig = ResourceConfig

// DeliveriesConfig holds the deliveries resource's options.
type DeliveriesConfig = ResourceConfig

// Validate reports the first invalid option.
func (c ResourceConfig) Validate() error {
	if c.RequestTimeout < 0 {
		return fmt.Errorf("request timeout must not be negative, not %s", c.RequestTimeout)
	}
	return nil
}

// withDefaults fills in what is left zero.
func (c ResourceConfig) withDefaults() ResourceConfig {
	c.RequestTimeout, c.Logger = requestDefaults(c.RequestTimeout, c.Logger)
	return c
}

// requestDefaults returns timeout and log, or their defaults when unset.
func requestDefaults(timeout time.Duration, log *slog.Logger) (time.Duration, *slog.Logger) {
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return timeout, log
}
