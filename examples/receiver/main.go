// Command receiver is a webhook receiver for invoiced: it verifies every
// delivery's Standard Webhooks signature with the client's webhook package,
// handles each event once however often it arrives, and prints it. Start
// your own from it.
//
//	WEBHOOK_SECRET=whsec_… go run ./examples/receiver
//
// It listens on 127.0.0.1:9000 (-addr, or RECEIVER_ADDR) and takes
// POST /webhook.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/invoiced/invoiced/client/webhook"
)

func main() {
	addr := flag.String("addr", envOr("RECEIVER_ADDR", "127.0.0.1:9000"), "address to listen on (also RECEIVER_ADDR)")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "the subscription's signing secret, whsec_… (also WEBHOOK_SECRET)")
	flag.Parse()
	v, err := webhook.NewVerifier(webhook.DefaultTolerance, *secret)
	if err != nil {
		log.Fatalf("receiver: %v (set -secret or WEBHOOK_SECRET)", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhook", webhook.Handler(v, (&once{seen: map[string]bool{}, out: os.Stdout}).handle))
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// Ctrl-C: finish the deliveries in hand, then exit.
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("receiver: listening on http://%s/webhook", *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("receiver: %v", err)
	}
}

// envOr returns the environment variable name, or def when it is empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// once handles each event once and prints it.
type once struct {
	out  io.Writer
	mu   sync.Mutex
	seen map[string]bool // webhook-ids handled; keep them in your database
}

// handle prints a verified event, or that it is a repeat: a retry of what
// was handled already, whose answer was lost. Answering nil acknowledges
// it either way.
func (o *once) handle(_ context.Context, ev webhook.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[ev.ID] {
		fmt.Fprintf(o.out, "repeat %s, already handled\n", ev.ID)
		return nil
	}
	o.seen[ev.ID] = true
	fmt.Fprintf(o.out, "verified %s %s invoice %s %s\n", ev.ID, ev.Type, ev.Data.ID, ev.Data.Status)
	return nil
}
