package serving

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
)

func TestStartSaysWhatItWaitsForUntilItIsDone(t *testing.T) {
	st := NewStart()
	if err := st.Check(); err == nil || !strings.Contains(err.Error(), "waiting for the start") {
		t.Fatalf("a new start: %v", err)
	}
	refused := errors.New("connection refused")
	st.WaitFor("JetStream")
	st.Failed(refused)
	if err := st.Check(); !errors.Is(err, refused) || !strings.Contains(err.Error(), "waiting for JetStream") {
		t.Fatalf("after a failed try: %v", err)
	}
	health := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := st.Handler(health)
	for path, want := range map[string]int{"/readyz": http.StatusTeapot, "/healthz": http.StatusTeapot, "/invoices": http.StatusServiceUnavailable} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Fatalf("%s while starting: %d, want %d", path, rec.Code, want)
		}
		if want != http.StatusServiceUnavailable {
			continue
		}
		var problem struct {
			Status int
			Detail string
		}
		if rec.Header().Get("Content-Type") != "application/problem+json" || rec.Header().Get("Retry-After") != "1" ||
			json.Unmarshal(rec.Body.Bytes(), &problem) != nil || problem.Status != want || !strings.Contains(problem.Detail, "connection refused") {
			t.Fatalf("%s while starting: %v %s", path, rec.Header(), rec.Body)
		}
	}
	st.Finish()
	if err := st.Check(); err != nil {
		t.Fatalf("a finished start: %v", err)
	}
}

func TestEveryReportsUntilStopped(t *testing.T) {
	var n atomic.Int32
	stop := Every(context.Background(), time.Millisecond, func() { n.Add(1) })
	natstest.Eventually(t, 10*time.Second, "three reports", func() bool { return n.Load() >= 3 })
	stop() // returns once the reporter has ended
}

func TestSideServesUntilShutdown(t *testing.T) {
	var none *Side
	if none.Addr() != "" || none.Shutdown(context.Background()) != nil {
		t.Fatal("no side must have no address and shut down as nothing")
	}
	s, err := StartSide("pprof", "127.0.0.1:0", PprofHandler(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + s.Addr() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("profiles: %d %q", res.StatusCode, body)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/debug/pprof/cmdline"); err == nil {
		t.Fatal("a side that was shut down still answers")
	}
	if _, err := StartSide("metrics", "256.0.0.1:0", PprofHandler(), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a side on an address nobody can listen on started")
	}
}
