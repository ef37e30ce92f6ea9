// Package serving holds what serves HTTP beside the API: the answers while
// the service starts, and the listeners for profiles and metrics.
package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Side is an HTTP listener beside the API's: profiles or metrics.
type Side struct {
	srv *http.Server
	ln  net.Listener
}

// StartSide serves h on addr until Shutdown. It fails when addr cannot be
// listened on.
func StartSide(name, addr string, h http.Handler, log *slog.Logger) (*Side, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener: %w", name, err)
	}
	s := &Side{ln: ln, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" listener stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr returns the address s listens on, or "" for none.
func (s *Side) Addr() string {
	if s == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops s, if there is one.
func (s *Side) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// PprofHandler serves net/http/pprof's pages under /debug/pprof/.
func PprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
