package app

import (
	"net/http"

	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/metrics"
	"github.com/invoiced/invoiced/internal/infra/serving"
)

// instrument counts and times the requests h answers, reports the durable
// consumers' lag, the stored messages the roles pass over and whether the
// process is ready, and serves
// the metrics where --metrics-addr says: beside the API (behind its keys,
// when there are any), on a listener of their own, or nowhere. It fails
// when that listener cannot be had.
func (s *Service) instrument(h http.Handler) (http.Handler, error) {
	watched := make([]metrics.Consumer, 0, len(durableConsumers))
	for _, c := range durableConsumers {
		watched = append(watched, metrics.Consumer{Stream: c.Stream, Name: c.Name})
	}
	if err := s.metrics.WatchConsumers(s.js, watched...); err != nil {
		return nil, err
	}
	if err := s.watchSkips(); err != nil {
		return nil, err
	}
	if err := s.metrics.WatchReady(s.ready); err != nil {
		return nil, err
	}
	switch s.cfg.MetricsAddr {
	case config.MetricsOff:
	case "":
		serve := s.metrics.Handler()
		if s.auth != nil {
			serve = s.auth.Middleware(serve)
		}
		h = metrics.Beside(h, serve)
	default:
		mux := http.NewServeMux()
		mux.Handle("GET "+metrics.Path, s.metrics.Handler())
		side, err := serving.StartSide("metrics", s.cfg.MetricsAddr, mux, s.log)
		if err != nil {
			return nil, err
		}
		s.metricsSide = side
	}
	return s.metrics.HTTP(h), nil
}

// watchSkips reports how many stored messages each role this process runs
// has passed over as not valid events or records; the console's are
// reported where it is made (withConsole).
func (s *Service) watchSkips() error {
	counts := map[string]func() uint64{}
	if s.follower != nil {
		counts[metrics.ReaderReadModel] = s.follower.Skipped
	}
	if s.proc != nil {
		counts[metrics.ReaderProcessor] = s.proc.Skipped
	}
	if s.disp != nil {
		counts[metrics.ReaderDispatcher] = s.disp.Skipped
	}
	for reader, count := range counts {
		if err := s.metrics.WatchUndecodable(reader, count); err != nil {
			return err
		}
	}
	return nil
}

// MetricsAddr returns the address of the metrics' own listener, or "" when
// they have none.
func (s *Service) MetricsAddr() string { return s.metricsSide.Addr() }
