package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// HTTP counts and times every request next answers, by method, the chi
// route pattern that served it ("unmatched" for none) and status, and
// counts idempotent replays. next must be a chi router, or a handler that
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
		status := ww.Status()
		m.httpRequests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
		m.httpDuration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
		if ww.Header().Get("Idempotent-Replayed") == "true" {
			m.replays.Inc()
		}
	})
}
