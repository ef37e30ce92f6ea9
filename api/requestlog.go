package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// HeaderRequestID carries a request's ID. A client may send one (up to 64
// letters, digits, '.', '_' or '-'); otherwise the service makes one up.
// Either way the answer echoes it, the request's log line names it, and the
// events the request causes carry it on to the processor's and the
// dispatcher's logs.
const HeaderRequestID = "X-Request-ID"

// requestIDKey is HeaderRequestID as net/http keys its header maps, so a
// request pays no canonicalising.
var requestIDKey = http.CanonicalHeaderKey(HeaderRequestID)

// requestInfo is what a request's log line needs from deeper down.
type requestInfo struct {
	id  string
	err error // the cause of a problem answer
}

type requestInfoKey struct{}

// RequestID returns the ID of the request ctx belongs to, or "" outside a
// request.
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// noteError records err as the cause of the request's problem answer, for
// its log line; it reports false outside a logged request.
func noteError(ctx context.Context, err error) bool {
	info, ok := ctx.Value(requestInfoKey{}).(*requestInfo)
	if ok {
		info.err = err
	}
	return ok
}

// requestLog gives every request an ID and a span, echoes the ID and logs
// the request once it is answered: method, path, route, status, bytes,
// duration, trace ID, and the cause of a problem. Server failures are
// logged as errors, the rest as info.
func requestLog(log *slog.Logger, tracer trace.Tracer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			info := &requestInfo{id: requestIDOf(r)}
			w.Header()[requestIDKey] = []string{info.id}
			ctx, span := tracer.Start(tracing.ExtractHTTP(r.Context(), r.Header), r.Method, trace.WithSpanKind(trace.SpanKindServer))
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r.WithContext(context.WithValue(ctx, requestInfoKey{}, info)))
			endRequestSpan(span, r, ww.Status(), info)
			level := slog.LevelInfo
			if ww.Status() >= http.StatusInternalServerError {
				level = slog.LevelError
			}
			if !log.Enabled(r.Context(), level) {
				return
			}
			attrs := []any{
				"request_id", info.id, "method", r.Method, "path", r.URL.Path, "route", routeOf(r),
				"status", ww.Status(), "bytes", ww.BytesWritten(), "duration", time.Since(start),
				"trace_id", span.SpanContext().TraceID().String(),
			}
			if info.err != nil {
				attrs = append(attrs, "err", info.err)
			}
			log.Log(r.Context(), level, "request", attrs...)
		})
	}
}

// endRequestSpan names span by the route that served r and ends it with
// the answer's status; a server failure marks it failed.
func endRequestSpan(span trace.Span, r *http.Request, status int, info *requestInfo) {
	if span.IsRecording() {
		route := routeOf(r)
		span.SetName(strings.TrimSpace(r.Method + " " + route))
		span.SetAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", route),
			attribute.String("url.path", r.URL.Path),
			attribute.Int("http.response.status_code", status),
			attribute.String("invoiced.request_id", info.id),
		)
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}

// requestIDOf returns the client's request ID when it is a sane one, else a
// new one.
func requestIDOf(r *http.Request) string {
	if ids := r.Header[requestIDKey]; len(ids) > 0 && validRequestID(ids[0]) {
		return ids[0]
	}
	return newRequestID()
}

// requestIDPrefix makes this process's request IDs unlike any other's;
// requestIDSeq numbers them.
var (
	requestIDPrefix = strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	requestIDSeq    atomic.Uint64
)

// newRequestID returns a request ID unique to this process's lifetime and,
// by its random prefix, to it: cheaper than a UUID per request.
func newRequestID() string {
	var b [40]byte
	buf := append(b[:0], requestIDPrefix...)
	buf = append(buf, '-')
	return string(strconv.AppendUint(buf, requestIDSeq.Add(1), 10))
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// routeOf returns the route pattern that served r, or "" when none did.
func routeOf(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		return rctx.RoutePattern()
	}
	return ""
}
