package api

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

// ReadyCheck reports whether the process can do its work: nil when
// JetStream is reachable and every stream and consumer it needs exists.
type ReadyCheck func(ctx context.Context) error

// Health is the /healthz and /readyz resource.
type Health struct {
	ready   ReadyCheck
	timeout time.Duration
}

// NewHealth returns the health resource; ready is asked on every /readyz.
func NewHealth(ready ReadyCheck) *Health {
	return &Health{ready: ready, timeout: 2 * time.Second}
}

type healthResponse struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Routes returns GET /healthz (the process answers) and GET /readyz
// (JetStream reachable and streams ready: 200, else 503).
func (h *Health) Routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, healthResponse{Status: "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		defer cancel()
		if err := h.ready(ctx); err != nil {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, healthResponse{Status: "unavailable", Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, healthResponse{Status: "ready"})
	})
	return r
}
