package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// healthcheck runs invoiced healthcheck with args and env and returns its
// stdout and error.
func healthcheck(env map[string]string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), append([]string{"healthcheck"}, args...), &stdout, &stderr, func(name string) string { return env[name] })
	return stdout.String(), err
}

// TestHealthcheckPassesForEveryRole runs a process of each role and checks
// it with the flagless healthcheck a container runs, its address given as
// the container would give serve's: INVOICED_ADDR.
func TestHealthcheckPassesForEveryRole(t *testing.T) {
	for _, role := range []string{"api", "processor", "dispatcher"} {
		t.Run(role, func(t *testing.T) {
			svc := startService(t, serveConfig(t, "", "--roles", role))
			out, err := healthcheck(map[string]string{"INVOICED_ADDR": svc.Addr()})
			if err != nil || out != "ready: http://"+svc.Addr()+"/readyz answered 200 OK\n" {
				t.Fatalf("healthcheck of a ready %s process: %v, %q", role, err, out)
			}
		})
	}
}

func TestHealthcheckSaysWhyNotReady(t *testing.T) {
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"unavailable","error":"NATS is\nRECONNECTING"}`))
	}))
	t.Cleanup(unready.Close)
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hanging.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"503 with a reason", []string{"--url", unready.URL + "/readyz"}, []string{"answered 503 Service Unavailable", "NATS is RECONNECTING"}},
		{"no answer in time", []string{"--url", hanging.URL + "/readyz", "--timeout", "200ms"}, []string{"did not answer within 200ms"}},
		{"nothing listening", []string{"--url", gone.URL + "/readyz"}, []string{gone.URL, "connection refused"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			started := time.Now()
			out, err := healthcheck(nil, tt.args...)
			if err == nil || errors.Is(err, ErrUsage) || out != "" {
				t.Fatalf("healthcheck: %v, %q; want a failure that is no usage error", err, out)
			}
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "not ready: ") {
				t.Errorf("%q is not one line saying why", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			if elapsed := time.Since(started); elapsed > 5*time.Second {
				t.Errorf("took %s", elapsed)
			}
		})
	}
}
