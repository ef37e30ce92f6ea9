// Command receiver is a webhook receiver for invoiced that verifies every
// delivery's Standard Webhooks signature, handles each event once however
// often it arrives, and prints it: a starting point for your own, with the
// standard library alone.
//
//	WEBHOOK_SECRET=whsec_… go run ./examples/receiver
//
// It listens on 127.0.0.1:9000 (-addr, or RECEIVER_ADDR) and takes
// POST /webhook.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tolerance is how far a delivery's timestamp may be from now: a captured
// delivery replayed later is refused.
const tolerance = 5 * time.Minute

func main() {
	addr := flag.String("addr", envOr("RECEIVER_ADDR", "127.0.0.1:9000"), "address to listen on (also RECEIVER_ADDR)")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "the subscription's signing secret, whsec_… (also WEBHOOK_SECRET)")
	flag.Parse()
	key, err := signingKey(*secret)
	if err != nil {
		log.Fatalf("receiver: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhook", &receiver{key: key, seen: map[string]bool{}, out: os.Stdout, now: time.Now})
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

// signingKey returns the HMAC key of a Standard Webhooks secret: the
// base64 after "whsec_". It fails for anything else.
func signingKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("the secret must start with whsec_ (set -secret or WEBHOOK_SECRET)")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("the secret is not whsec_ and base64: %v", err)
	}
	return key, nil
}

// receiver verifies and prints deliveries, each event once.
type receiver struct {
	key []byte
	out io.Writer
	now func() time.Time

	mu   sync.Mutex
	seen map[string]bool // webhook-ids handled; keep them in your database
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	if err := rc.verify(id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	repeat := rc.seen[id]
	rc.seen[id] = true
	rc.mu.Unlock()
	if repeat {
		// A retry of what was handled already (its answer was lost): the
		// same webhook-id means the same event. Acknowledge it, do nothing.
		fmt.Fprintf(rc.out, "repeat %s, already handled\n", id)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	fmt.Fprintf(rc.out, "verified %s %s\n", id, body)
	w.WriteHeader(http.StatusNoContent)
}

// verify checks a delivery's signature: the HMAC-SHA256 of
// "<id>.<timestamp>.<body>" under the key, base64, must equal one of the
// space-separated "v1,<signature>" values (more than one while a rotated
// secret overlaps). It fails for a missing header, a timestamp out of
// tolerance, or no matching signature.
func (rc *receiver) verify(id, timestamp, signatures string, body []byte) error {
	if id == "" || timestamp == "" || signatures == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not a number")
	}
	if d := rc.now().Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook-timestamp too far from now")
	}
	mac := hmac.New(sha256.New, rc.key)
	fmt.Fprintf(mac, "%s.%s.", id, timestamp)
	mac.Write(body)
	want := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, sig := range strings.Fields(signatures) {
		if v, ok := strings.CutPrefix(sig, "v1,"); ok && hmac.Equal([]byte(v), want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}
