package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/config"
)

// runListen runs invoiced listen until ctx ends: a relay subscribed to the
// service's webhooks that prints, verifies and forwards each to the app.
func runListen(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseListen(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	relayURL := "http://" + ln.Addr().String() + "/webhook"
	api := &apiClient{base: strings.TrimSuffix(cfg.API, "/"), key: cfg.APIKey, http: &http.Client{Timeout: 30 * time.Second}}
	sub, created, err := api.ensureSubscription(ctx, relayURL, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	r := newRelay(cfg.ForwardTo, sub.Secret, stdout)
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stdout, "Ready. Forwarding %s to %s\n  subscription %s, signing secret %s\n  Ctrl-C to stop.\n",
		strings.Join(cfg.Events, ", "), cfg.ForwardTo, sub.ID, sub.Secret)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(stopCtx)
	if !created {
		fmt.Fprintf(stdout, "Stopped; subscription %s, which was there before, is left as it was.\n", sub.ID)
		return nil
	}
	if err := api.do(stopCtx, http.MethodDelete, "/webhooks/subscriptions/"+sub.ID, nil, nil); err != nil {
		return fmt.Errorf("remove subscription %s: %w", sub.ID, err)
	}
	fmt.Fprintf(stdout, "Stopped; subscription %s removed.\n", sub.ID)
	return nil
}

// listenSubscription is what listen needs of a subscription.
type listenSubscription struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Status string `json:"status"`
	Secret string `json:"secret"`
}

// apiClient calls the invoiced API.
type apiClient struct {
	base, key string
	http      *http.Client
}

// ensureSubscription returns an enabled subscription to relayURL with its
// secret: one already there (its secret rotated, the old one signing on for
// the overlap), or a new one, and whether it made it.
func (c *apiClient) ensureSubscription(ctx context.Context, relayURL string, cfg config.Listen) (listenSubscription, bool, error) {
	var list struct{ Data []listenSubscription }
	if err := c.do(ctx, http.MethodGet, "/webhooks/subscriptions", nil, &list); err != nil {
		return listenSubscription{}, false, err
	}
	for _, s := range list.Data {
		if s.URL == relayURL && s.Status == "enabled" {
			var rotated listenSubscription
			err := c.do(ctx, http.MethodPost, "/webhooks/subscriptions/"+s.ID+"/rotate-secret", nil, &rotated)
			return rotated, false, err
		}
	}
	body := map[string]any{"url": relayURL, "event_types": cfg.Events, "description": "invoiced listen, forwarding to " + cfg.ForwardTo}
	var sub listenSubscription
	err := c.do(ctx, http.MethodPost, "/webhooks/subscriptions", body, &sub)
	return sub, err == nil, err
}

// do sends one request with body as JSON and decodes a 2xx answer into out;
// any other answer is an error carrying the problem's detail.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytes.TrimSpace(data))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
