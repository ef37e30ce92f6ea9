package tracing

import (
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
)

// errorEvery is how often an export that keeps failing is logged.
const errorEvery = time.Minute

// errorLog logs the SDK's failures, such as an export the collector did
// not take, at most once every errorEvery with how many it passed over:
// a collector that is down fails every batch, and the log should say so,
// not fill with it.
type errorLog struct {
	log  *slog.Logger
	now  func() time.Time
	mu   sync.Mutex
	last time.Time
	over int // failures not logged since last
}

// logErrorsTo sends the OpenTelemetry SDK's failures, process-wide, to
// log.
func logErrorsTo(log *slog.Logger) {
	otel.SetErrorHandler(&errorLog{log: log, now: time.Now})
}

// Handle logs err, unless one was logged less than errorEvery ago.
func (e *errorLog) Handle(err error) {
	e.mu.Lock()
	now := e.now()
	if !e.last.IsZero() && now.Sub(e.last) < errorEvery {
		e.over++
		e.mu.Unlock()
		return
	}
	over := e.over
	e.last, e.over = now, 0
	e.mu.Unlock()
	e.log.Warn("traces not exported", "err", err, "failures_not_logged", over)
}
