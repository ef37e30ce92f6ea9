// Package api is invoiced's HTTP API: the invoices resource with exact
// idempotency, health endpoints, and RFC 9457 problem answers for every
// error.
package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// Resources are the parts of the API a process serves; nil ones are left
// out, so a process without the api role serves only health.
type Resources struct {
	Health        *Health
	Invoices      *Invoices
	Subscriptions *Subscriptions
	Deliveries    *Deliveries
	// Auth, when set, guards every route but health.
	Auth   *Auth
	Logger *slog.Logger
}

// NewHandler returns the HTTP handler that routes to the resources.
func NewHandler(res Resources) http.Handler {
	log := res.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := chi.NewRouter()
	r.Use(secureHeaders, recoverer(log))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, log, fmt.Errorf("%w: %s %s", ErrNotFound, r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowedMethods(r, req.URL.Path), ", "))
		writeError(w, req, log, fmt.Errorf("%w: %s %s", ErrMethodNotAllowed, req.Method, req.URL.Path))
	})
	if res.Health != nil {
		r.Mount("/", res.Health.Routes())
	}
	r.Group(func(r chi.Router) {
		if res.Auth != nil {
			r.Use(res.Auth.Middleware)
		}
		if res.Invoices != nil {
			r.Mount("/invoices", res.Invoices.Routes())
		}
		if res.Subscriptions != nil {
			r.Mount("/webhooks/subscriptions", res.Subscriptions.Routes())
		}
		if res.Deliveries != nil {
			r.Mount("/webhooks/deliveries", res.Deliveries.Routes())
			r.Post("/webhooks/subscriptions/{id}/recover", res.Deliveries.RecoverHandler())
		}
	})
	return r
}

// allowedMethods lists the methods routes answers at path.
func allowedMethods(routes chi.Routes, path string) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// NewServer returns an HTTP server for handler with timeouts that keep slow
// or oversized clients from holding it.
func NewServer(handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// recoverer answers 500 problem+json for a handler that panics.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					writeError(w, r, log, fmt.Errorf("panic: %v", v))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}
