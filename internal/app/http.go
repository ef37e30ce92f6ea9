package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/serving"
)

// listen takes the HTTP address and answers on it at once: /healthz, and
// /readyz with 503 and what the start waits for, until serve puts the
// service's handler in place. It fails, naming the port and the flag that
// moves it, when the address is taken.
func (s *Service) listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		if _, port, _ := net.SplitHostPort(s.cfg.Addr); errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("HTTP address %s: port %s is already in use (another invoiced?); give --addr (or INVOICED_ADDR) another port: %w", s.cfg.Addr, port, err)
		}
		return fmt.Errorf("HTTP address %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	starting := s.starting.Handler(api.NewHandler(api.Resources{Health: api.NewHealth(s.ready), Logger: s.log}))
	s.handler.Store(&starting)
	s.http = api.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.handler.Load()).ServeHTTP(w, r)
	}), api.ServerLimits{}, s.log)
	go func() { s.served <- s.http.Serve(ln) }()
	return nil
}

// serve puts the API (health alone for a process without the api role) in
// place of the start's answers, and serves profiles when asked.
func (s *Service) serve() error {
	res := api.Resources{Health: api.NewHealth(s.ready), Logger: s.log, Tracer: s.tracing.Tracer()}
	if s.cfg.Has(config.RoleAPI) {
		if err := s.apiResources(&res); err != nil {
			return err
		}
	}
	handler, err := s.withConsole(api.NewHandler(res))
	if err != nil {
		return err
	}
	if handler, err = s.instrument(handler); err != nil {
		return err
	}
	s.handler.Store(&handler)
	if s.cfg.PprofAddr != "" {
		if s.pprof, err = serving.StartSide("pprof", s.cfg.PprofAddr, serving.PprofHandler(), s.log); err != nil {
			return err
		}
	}
	return nil
}

// Addr returns the address the HTTP server listens on.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// PprofAddr returns the address net/http/pprof is served on, or "" when
// it is not.
func (s *Service) PprofAddr() string { return s.pprof.Addr() }
