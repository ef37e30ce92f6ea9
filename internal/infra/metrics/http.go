package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// HTTP counts and times every request next answers, by method (those of
// RFC 9110 and PATCH, any other as "other"), the chi route pattern that
// served it ("unmatched" for none) and status, and counts idempotent
// replays. Every label comes from a fixed set, whatever clients send. next must be a chi router, or a handler that
// reaches one: the route is read from the routing context HTTP hands it.
func (m *Metrics) HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rctx := chi.NewRouteContext()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx)))
		route := rctx.RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		method := methodLabel(r.Method)
		m.httpRequests.WithLabelValues(method, route, strconv.Itoa(ww.Status())).Inc()
		m.httpDuration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		if ww.Header().Get("Idempotent-Replayed") == "true" {
			m.replays.Inc()
		}
	})
}

// methodLabel returns method if it is a standard one, else "other", so a
// client cannot mint series by inventing methods.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// Path is where metrics are served.
const Path = "/metrics"

// Beside answers GET /metrics with metrics and everything else with api.
func Beside(api, metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path || r.Method != http.MethodGet {
			api.ServeHTTP(w, r)
			return
		}
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			rctx.RoutePatterns = append(rctx.RoutePatterns, Path)
		}
		metrics.ServeHTTP(w, r)
	})
}
