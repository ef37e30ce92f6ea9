package webhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/invoiced/invoiced/client/webhook"
)

// secret is a subscription's signing secret, as CreateSubscription returns
// it.
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// body is a delivery's body as the service sends it.
const body = `{"type":"invoice.processed","timestamp":"2026-01-02T03:04:05Z","data":{"id":"91733d96-050b-59d1-a68c-89b289e950c3",` +
	`"account":"default","status":"processed","customer_id":"cust_123","amount_cents":2500,"currency":"USD","description":"",` +
	`"metadata":{},"created_at":"2026-01-02T03:04:04Z","processed_at":"2026-01-02T03:04:05Z"}}`

// delivery returns a request such as the service sends, signed with
// secret.
func delivery(url string) *http.Request {
	now := time.Now()
	sig, err := webhook.Sign(secret, "evt_1", now, []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderID, "evt_1")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, sig)
	return req
}

func ExampleVerify() {
	req := delivery("http://127.0.0.1/webhook")
	payload := []byte(body) // in a handler: io.ReadAll(r.Body), the bytes exactly as they came

	ev, err := webhook.Verify(secret, req.Header, payload, webhook.DefaultTolerance)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.ID, ev.Type, ev.Data.CustomerID, ev.Data.AmountCents)

	_, err = webhook.Verify(secret, req.Header, []byte(strings.Replace(body, "2500", "1", 1)), webhook.DefaultTolerance)
	fmt.Println(err)
	// Output:
	// evt_1 invoice.processed cust_123 2500
	// webhook: no signature matches the secret
}

func ExampleHandler() {
	// Give the old and the new secret while a rotation overlaps.
	v, err := webhook.NewVerifier(webhook.DefaultTolerance, secret)
	if err != nil {
		log.Fatal(err)
	}
	handled := map[string]bool{} // keep these in your database
	h := webhook.Handler(v, func(ctx context.Context, ev webhook.Event) error {
		if handled[ev.ID] {
			return nil // a repeat of an event already handled
		}
		handled[ev.ID] = true
		fmt.Println("invoice", ev.Data.ID, ev.Data.Status)
		return nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	for range 2 {
		res, err := http.DefaultClient.Do(delivery(srv.URL))
		if err != nil {
			log.Fatal(err)
		}
		res.Body.Close()
		fmt.Println(res.StatusCode)
	}
	// Output:
	// invoice 91733d96-050b-59d1-a68c-89b289e950c3 processed
	// 204
	// 204
}
