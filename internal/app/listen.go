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
	"sync"
	"time"

	"github.com/invoiced/invoiced/internal/config"
	"github.com/invoiced/invoiced/internal/webhook"
)

// runListen runs invoiced listen until ctx ends: a relay subscribed to the
// service's webhooks that verifies each and then forwards it to the app
// (--forward-to) or prints its body as a JSON line on stdout. While it
// prints, everything else it says goes to stderr, so stdout holds only the
// webhooks.
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
	var handler http.Handler
	say, doing := stdout, "Forwarding "+strings.Join(cfg.Events, ", ")+" to "+cfg.ForwardTo
	if cfg.Prints() {
		say, doing = stderr, "Printing "+strings.Join(cfg.Events, ", ")+" as JSON lines on stdout"
		handler = &printer{secret: sub.Secret, out: stdout, log: stderr}
	} else {
		handler = newRelay(cfg.ForwardTo, sub.Secret, stdout)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(say, "Ready. %s\n  subscription %s, signing secret %s\n  Ctrl-C to stop.\n", doing, sub.ID, sub.Secret)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(stopCtx)
	if !created {
		fmt.Fprintf(say, "Stopped; subscription %s, which was there before, is left as it was.\n", sub.ID)
		return nil
	}
	if err := api.do(stopCtx, http.MethodDelete, "/webhooks/subscriptions/"+sub.ID, nil, nil); err != nil {
		return fmt.Errorf("remove subscription %s: %w", sub.ID, err)
	}
	fmt.Fprintf(say, "Stopped; subscription %s removed.\n", sub.ID)
	return nil
}

// printer takes webhooks and writes the body of each that verifies as one
// JSON line on out, answering 204; one that does not verify, or is no
// JSON, is reported on log, not printed, and answered 400, so the delivery
// log records the failure.
type printer struct {
	secret string

	mu       sync.Mutex // one line at a time
	out, log io.Writer
}

// ServeHTTP prints one webhook.
func (p *printer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	id := req.Header.Get(webhook.HeaderID)
	var line bytes.Buffer
	if err := webhook.Verify(p.secret, req.Header, body, time.Now(), 5*time.Minute); err != nil {
		p.report(w, "%s  %s  NOT VERIFIED (%v): not printed\n", time.Now().Format("15:04:05"), id, err)
		return
	}
	if err := json.Compact(&line, body); err != nil {
		p.report(w, "%s  %s  verified, but its body is no JSON (%v): not printed\n", time.Now().Format("15:04:05"), id, err)
		return
	}
	line.WriteByte('\n')
	p.mu.Lock()
	_, err = p.out.Write(line.Bytes())
	p.mu.Unlock()
	if err != nil {
		// stdout is gone (a closed pipe): the service retries later.
		http.Error(w, "cannot print", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// report says on p.log why a webhook was not printed and answers it 400.
func (p *printer) report(w http.ResponseWriter, format string, args ...any) {
	p.mu.Lock()
	fmt.Fprintf(p.log, format, args...)
	p.mu.Unlock()
	http.Error(w, "not printed: see invoiced listen's output", http.StatusBadRequest)
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
	description := "invoiced listen, forwarding to " + cfg.ForwardTo
	if cfg.Prints() {
		description = "invoiced listen, printing"
	}
	body := map[string]any{"url": relayURL, "event_types": cfg.Events, "description": description}
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
