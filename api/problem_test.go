package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProblemFor(t *testing.T) {
	const secret = "dial tcp 10.0.0.7:4222: password=hunter2"
	tests := []struct {
		name       string
		err        error
		status     int
		slug       string
		field      string
		retryAfter time.Duration
	}{
		{"invalid", fmt.Errorf("%w: the body is empty", ErrInvalid), http.StatusBadRequest, "invalid-request", "", 0},
		{"validation error", invalidField("amount_cents", "is required"), http.StatusBadRequest, "invalid-request", "amount_cents", 0},
		{"wrapped validation error", fmt.Errorf("decode: %w", invalidField("currency", "bad")), http.StatusBadRequest, "invalid-request", "currency", 0},
		{"not found", fmt.Errorf("%w: no invoice %q", ErrNotFound, "x"), http.StatusNotFound, "not-found", "", 0},
		{"method not allowed", ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method-not-allowed", "", 0},
		{"in flight", fmt.Errorf("%w: retry shortly", ErrInFlight), http.StatusConflict, "request-in-flight", "", 0},
		{"in flight with retry", withRetryAfter(fmt.Errorf("%w: retry shortly", ErrInFlight), time.Second), http.StatusConflict, "request-in-flight", "", time.Second},
		{"too large", ErrTooLarge, http.StatusRequestEntityTooLarge, "body-too-large", "", 0},
		{"unsupported media type", ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported-media-type", "", 0},
		{"key reused", ErrKeyReused, http.StatusUnprocessableEntity, "idempotency-key-reused", "", 0},
		{"unavailable defaults to one second", fmt.Errorf("%w: store: %w", ErrUnavailable, errors.New("timeout")), http.StatusServiceUnavailable, "unavailable", "", time.Second},
		{"unavailable with retry", withRetryAfter(ErrUnavailable, 3*time.Second), http.StatusServiceUnavailable, "unavailable", "", 3 * time.Second},
		{"unknown", errors.New(secret), http.StatusInternalServerError, "internal", "", 0},
		{"wrapped unknown", fmt.Errorf("load: %w", io.ErrUnexpectedEOF), http.StatusInternalServerError, "internal", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := problemFor(tt.err)
			if p.Status != tt.status {
				t.Errorf("Status = %d, want %d", p.Status, tt.status)
			}
			if want := problemTypeBase + tt.slug; p.Type != want {
				t.Errorf("Type = %q, want %q", p.Type, want)
			}
			if p.Title == "" {
				t.Error("Title is empty")
			}
			if p.Field != tt.field {
				t.Errorf("Field = %q, want %q", p.Field, tt.field)
			}
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
				t.Errorf("Errors = %+v, want the first to name %q", p.Errors, tt.field)
			}
			if tt.field == "" && len(p.Errors) != 0 {
				t.Errorf("Errors = %+v, want none", p.Errors)
			}
			if p.retryAfter != tt.retryAfter {
				t.Errorf("retryAfter = %v, want %v", p.retryAfter, tt.retryAfter)
			}
			if tt.status != http.StatusInternalServerError && p.Detail != tt.err.Error() {
				t.Errorf("Detail = %q, want %q", p.Detail, tt.err.Error())
			}
		})
	}
}

func TestProblemWriteError(t *testing.T) {
	const secret = "password=hunter2"
	tests := []struct {
		name       string
		err        error
		status     int
		slug       string
		retryAfter string // the Retry-After header; empty means absent
		detail     bool   // whether the detail is shown
		logged     bool   // whether the failure is logged server-side
	}{
		{"400", invalidField("customer_id", "is required"), 400, "invalid-request", "", true, false},
		{"404", fmt.Errorf("%w: no invoice", ErrNotFound), 404, "not-found", "", true, false},
		{"405", ErrMethodNotAllowed, 405, "method-not-allowed", "", true, false},
		{"409", withRetryAfter(fmt.Errorf("%w: retry shortly", ErrInFlight), time.Second), 409, "request-in-flight", "1", true, false},
		{"413", ErrTooLarge, 413, "body-too-large", "", true, false},
		{"415", ErrUnsupportedMediaType, 415, "unsupported-media-type", "", true, false},
		{"422", ErrKeyReused, 422, "idempotency-key-reused", "", true, false},
		{"503", fmt.Errorf("%w: read stream state", ErrUnavailable), 503, "unavailable", "1", true, true},
		{"503 rounds retry up", withRetryAfter(ErrUnavailable, 1500*time.Millisecond), 503, "unavailable", "2", true, true},
		{"500 hides detail", fmt.Errorf("ledger: %s", secret), 500, "internal", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/invoices", nil)
			writeError(rec, req, log, tt.err)

			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.status)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			if got := res.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			raw := rec.Body.Bytes()
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", raw, err)
			}
			if body["type"] != problemTypeBase+tt.slug {
				t.Errorf("type = %v, want %q", body["type"], problemTypeBase+tt.slug)
			}
			if title, _ := body["title"].(string); title == "" {
				t.Errorf("title = %v, want a non-empty string", body["title"])
			}
			if body["status"] != float64(tt.status) {
				t.Errorf("status field = %v, want %d", body["status"], tt.status)
			}
			if _, has := body["detail"]; has != tt.detail {
				t.Errorf("detail present = %v, want %v (body %s)", has, tt.detail, raw)
			}
			wantDetail := tt.err.Error()
			if tt.status >= 500 {
				wantDetail = publicDetail[tt.status] // causes are logged, not shown
			}
			if tt.detail && body["detail"] != wantDetail {
				t.Errorf("detail = %v, want %q", body["detail"], wantDetail)
			}
			if !tt.detail && bytes.Contains(raw, []byte(secret)) {
				t.Errorf("body %s leaks the internal error", raw)
			}
			if got := strings.Contains(logs.String(), tt.err.Error()); got != tt.logged {
				t.Errorf("error logged = %v, want %v (log %q)", got, tt.logged, logs.String())
			}
		})
	}
}

func TestProblemWriteErrorValidationFields(t *testing.T) {
	_, err := decodeInvoiceRequest([]byte(`{"customer_id":"","amount_cents":0}`))
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest(http.MethodPost, "/invoices", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), err)
	var body struct {
		Status int          `json:"status"`
		Field  string       `json:"field"`
		Errors []FieldError `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.Bytes(), err)
	}
	if body.Status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", body.Status)
	}
	if body.Field != "customer_id" {
		t.Errorf("field = %q, want customer_id", body.Field)
	}
	var fields []string
	for _, f := range body.Errors {
		fields = append(fields, f.Field)
	}
	if want := []string{"customer_id", "amount_cents"}; !slices.Equal(fields, want) {
		t.Errorf("errors name %q, want %q", fields, want)
	}
}
