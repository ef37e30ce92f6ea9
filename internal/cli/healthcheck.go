package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/invoiced/invoiced/internal/infra/config"
)

// runHealthcheck runs invoiced healthcheck: one GET of the readiness URL.
// It prints a line to stdout and returns nil when the service answers 200,
// and returns an error saying why in one line otherwise.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseHealthcheck(args, getenv, stderr)
	if err != nil {
		return usage(err)
	}
	status, err := checkReady(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, status)
	return nil
}

// checkReady asks cfg.URL once, following no redirect, and returns a line
// saying the service is ready. It fails, saying why in one line, when
// there is no answer within cfg.Timeout or the answer is not 200.
func checkReady(ctx context.Context, cfg config.Healthcheck) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
	if err != nil {
		return "", fmt.Errorf("not ready: %w", err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("not ready: %s did not answer within %s", cfg.URL, cfg.Timeout)
		}
		if cause := errors.Unwrap(err); cause != nil {
			err = cause // the url.Error repeats the method and URL
		}
		return "", fmt.Errorf("not ready: %s: %s", cfg.URL, oneLine(err))
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode == http.StatusOK {
		return fmt.Sprintf("ready: %s answered %s", cfg.URL, res.Status), nil
	}
	return "", fmt.Errorf("not ready: %s answered %s: %s", cfg.URL, res.Status, readinessReason(body))
}

// readinessReason returns why a /readyz answer says not ready: its error,
// or the body as it is.
func readinessReason(body []byte) string {
	var health struct {
		Status, Error string
	}
	if json.Unmarshal(body, &health) == nil && health.Error != "" {
		return oneLine(errors.New(health.Error))
	}
	if text := strings.TrimSpace(string(body)); text != "" {
		return oneLine(errors.New(text))
	}
	return "no reason given"
}

// oneLine returns err's text on one line, at most 300 characters.
func oneLine(err error) string {
	if err == nil {
		return "unknown error"
	}
	text := strings.Join(strings.Fields(err.Error()), " ")
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return string(bytes.ToValidUTF8([]byte(text), []byte("?")))
}
