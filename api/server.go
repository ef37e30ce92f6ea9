// Package api is invoiced's HTTP API: invoices with exact idempotency,
// webhook subscriptions and the delivery log, each kept to its caller's
// account; API keys, rate limits and failed-authentication limits; health;
// and an RFC 9457 problem answer for every error (problem.go, errors.go).
package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"go.opentelemetry.io/otel/trace"
)

// Resources are the parts of the API a process serves; nil ones are left
// out, so a process without the api role serves only health.
type Resources struct {
	Health        *Health
	Invoices      *Invoices
	Subscriptions *Subscriptions
	Deliveries    *Deliveries
	Events        *Events
	// Auth, when set, guards every route but health.
	Auth   *Auth
	Logger *slog.Logger
	// Tracer makes each request's span; nil exports nothing, while trace
	// context still travels on to the invoice's events and webhooks.
	Tracer trace.Tracer
}

// NewHandler returns the HTTP handler that routes to the resources.
func NewHandler(res Resources) http.Handler {
	log := res.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tracer := res.Tracer
	if tracer == nil {
		tracer = tracing.Off().Tracer()
	}
	r := chi.NewRouter()
	r.Use(requestLog(log, tracer), secureHeaders, recoverer(log))
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, log, fmt.Errorf("%w: %s %s", ErrNotFound, r.Method, r.URL.Path))
	}
	r.NotFound(notFound)
	var routes routeTable // the router's, once built below
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		allow := routes.allowed(req.URL.Path)
		if len(allow) == 0 {
			// chi comes here for a method it does not know (the HTTP/2
			// preface's PRI) whatever the path: where no route is, 404.
			notFound(w, req)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, req, log, fmt.Errorf("%w: %s %s", ErrMethodNotAllowed, req.Method, req.URL.Path))
	})
	if res.Health != nil {
		r.Mount("/", res.Health.Routes())
	}
	r.Get("/openapi.json", ServeOpenAPI)
	r.Group(func(r chi.Router) {
		if res.Auth != nil {
			r.Use(res.Auth.Middleware)
		}
		r.Get("/account", accountHandler)
		if res.Invoices != nil {
			r.Mount("/invoices", res.Invoices.Routes())
		}
		if res.Events != nil {
			r.Mount("/events", res.Events.Routes())
			r.Get("/invoices/{id}/events", res.Events.InvoiceEventsHandler())
		}
		if res.Subscriptions != nil {
			r.Mount("/webhooks/subscriptions", res.Subscriptions.Routes())
		}
		if res.Deliveries != nil {
			r.Mount("/webhooks/deliveries", res.Deliveries.Routes())
			r.Post("/webhooks/subscriptions/{id}/recover", res.Deliveries.RecoverHandler())
			r.Post("/webhooks/subscriptions/{id}/test", res.Deliveries.TestEventHandler())
		}
	})
	routes = walkRoutes(r)
	return r
}

// NewServer returns an HTTP server for handler with timeouts that keep slow
// or oversized clients from holding it. "OPTIONS *" goes to handler too,
// so that it is answered as every other request is; what net/http still
// answers itself, before any handler runs, docs/API.md lists.
func NewServer(handler http.Handler, limits ServerLimits, log *slog.Logger) *http.Server {
	limits = limits.withDefaults()
	return &http.Server{
		Handler:                      handler,
		DisableGeneralOptionsHandler: true,
		ReadHeaderTimeout:            limits.ReadHeaderTimeout,
		ReadTimeout:                  limits.ReadTimeout,
		WriteTimeout:                 limits.WriteTimeout,
		IdleTimeout:                  limits.IdleTimeout,
		MaxHeaderBytes:               limits.MaxHeaderBytes,
		ErrorLog:                     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// ServerLimits bound what one client can hold of the server; zero fields
// take the defaults in parentheses.
type ServerLimits struct {
	ReadHeaderTimeout time.Duration // all headers within (10s)
	ReadTimeout       time.Duration // the whole request within (30s)
	WriteTimeout      time.Duration // the answer within (60s)
	IdleTimeout       time.Duration // a kept-alive connection idles at most (120s)
	MaxHeaderBytes    int           // headers at most (64 KiB)
}

func (l ServerLimits) withDefaults() ServerLimits {
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	l.ReadHeaderTimeout = pick(l.ReadHeaderTimeout, 10*time.Second)
	l.ReadTimeout = pick(l.ReadTimeout, 30*time.Second)
	l.WriteTimeout = pick(l.WriteTimeout, 60*time.Second)
	l.IdleTimeout = pick(l.IdleTimeout, 120*time.Second)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	return l
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
