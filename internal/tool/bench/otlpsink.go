package bench

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// OTLPSink is an OTLP/HTTP trace receiver that takes every export, counts
// it and drops it, so a bench run with tracing on pays what a service pays
// to export, not what a collector pays to keep.
type OTLPSink struct {
	URL      string // the base URL, for --otlp-endpoint
	srv      *http.Server
	exports  atomic.Int64
	received atomic.Int64
}

// StartOTLPSink starts a sink on a loopback port. It fails when it cannot
// listen.
func StartOTLPSink() (*OTLPSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &OTLPSink{URL: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		s.exports.Add(1)
		s.received.Add(n)
		// An empty body is an empty ExportTraceServiceResponse: all taken.
		w.Header().Set("Content-Type", "application/x-protobuf")
	})}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Exports returns how many exports the sink took and their bytes.
func (s *OTLPSink) Exports() (requests, bytes int64) { return s.exports.Load(), s.received.Load() }

// Close stops the sink.
func (s *OTLPSink) Close() error { return s.srv.Close() }
