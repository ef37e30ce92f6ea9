package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/client"
)

// baseURL and apiKey name the service the examples call: one started for
// them, as https://invoiced.example.com and your API key would in a
// program of your own.

func ExampleNew() {
	c, err := client.New(baseURL,
		client.WithAPIKey(apiKey),
		client.WithUserAgent("billing-sync/2.1"),
		client.WithRetry(5, time.Minute),
	)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.GetInvoice(context.Background(), "91733d96-050b-59d1-a68c-89b289e950c3")
	fmt.Println(errors.Is(err, client.ErrNotFound))
	// Output: true
}

func ExampleClient_CreateInvoice() {
	ctx := context.Background()
	c, err := client.New(baseURL, client.WithAPIKey(apiKey))
	if err != nil {
		log.Fatal(err)
	}
	params := client.InvoiceParams{CustomerID: "cust_123", AmountCents: 2500, Currency: "EUR"}
	inv, err := c.CreateInvoice(ctx, params)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Status, inv.AmountCents, inv.Currency, inv.Replayed)

	// Sending the same key again, as after a crash, creates nothing new: it
	// returns the invoice the key made. Keep the key with your own record,
	// or give your own with WithIdempotencyKey.
	again, err := c.CreateInvoice(ctx, params, client.WithIdempotencyKey(inv.IdempotencyKey))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(again.ID == inv.ID, again.Replayed)
	// Output:
	// created 2500 EUR false
	// true true
}

func ExampleClient_GetInvoice() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(baseURL, client.WithAPIKey(apiKey))
	if err != nil {
		log.Fatal(err)
	}
	created, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: "cust_123", AmountCents: 2500})
	if err != nil {
		log.Fatal(err)
	}
	// The invoice is processed in the background: poll until it has an
	// outcome (or subscribe to its webhooks).
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		inv, err := c.GetInvoice(ctx, created.ID)
		if err != nil {
			log.Fatal(err)
		}
		if inv.Status != client.InvoiceCreated {
			fmt.Println(inv.Status, !inv.ProcessedAt.IsZero())
			break
		}
		select {
		case <-ctx.Done():
			log.Fatal(ctx.Err())
		case <-tick.C:
		}
	}
	// Output: processed true
}

func ExampleClient_ListInvoices() {
	ctx := context.Background()
	c, err := client.New(baseURL, client.WithAPIKey(apiKey))
	if err != nil {
		log.Fatal(err)
	}
	customer := "cust_" + uuid.NewString()
	for _, amount := range []int64{100, 200, 300} {
		if _, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: customer, AmountCents: amount}); err != nil {
			log.Fatal(err)
		}
	}
	// Two a page: the iterator fetches the second page when it needs it.
	for inv, err := range c.ListInvoices(ctx, client.InvoiceListParams{CustomerID: customer, Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(inv.AmountCents)
	}
	// Output:
	// 300
	// 200
	// 100
}

func ExampleError() {
	ctx := context.Background()
	c, err := client.New(baseURL, client.WithAPIKey(apiKey))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.GetInvoice(ctx, "91733d96-050b-59d1-a68c-89b289e950c3")
	if errors.Is(err, client.ErrNotFound) {
		fmt.Println("no such invoice")
	}

	_, err = c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: "cust_123", AmountCents: 0, Currency: "usd"})
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
		for _, f := range apiErr.Errors {
			fmt.Println("invalid:", f.Field)
		}
	}
	// Output:
	// no such invoice
	// invalid: amount_cents
	// invalid: currency
}

func ExampleClient_CreateSubscription() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(baseURL, client.WithAPIKey(apiKey))
	if err != nil {
		log.Fatal(err)
	}
	// A receiver that takes every delivery; see package webhook for one
	// that verifies them.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	sub, err := c.CreateSubscription(ctx, client.SubscriptionParams{
		URL:        receiver.URL + "/webhook",
		EventTypes: []client.EventType{client.EventInvoiceProcessed, client.EventInvoiceFailed},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Keep the secret: it is shown only now and on rotation.
	fmt.Println(sub.Status, strings.HasPrefix(sub.Secret, "whsec_"))

	test, err := c.SendTestEvent(ctx, sub.ID, client.TestEventParams{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(test.EventType)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		d, err := c.GetDelivery(ctx, test.DeliveryID)
		if err == nil && d.Status == client.DeliveryDelivered {
			fmt.Println(d.Status, d.Attempts[0].HTTPStatus)
			break
		}
		if err != nil && !errors.Is(err, client.ErrNotFound) { // listed from its first attempt
			log.Fatal(err)
		}
		select {
		case <-ctx.Done():
			log.Fatal(ctx.Err())
		case <-tick.C:
		}
	}
	if err := c.DeleteSubscription(ctx, sub.ID); err != nil {
		log.Fatal(err)
	}
	// Output:
	// enabled true
	// invoice.processed
	// delivered 204
}
