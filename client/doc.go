// Package client is the Go client of the invoiced REST API: invoices created
// exactly once, webhook subscriptions and their delivery log.
//
//	import "github.com/invoiced/invoiced/client"
//
// # Quick start
//
// Make one [Client] and share it; it is safe for concurrent use. Every call
// takes a context first and returns typed values:
//
//	c, err := client.New("https://invoiced.example.com", client.WithAPIKey(os.Getenv("INVOICED_API_KEY")))
//	if err != nil {
//		log.Fatal(err)
//	}
//	inv, err := c.CreateInvoice(ctx, client.InvoiceParams{
//		CustomerID:  "cust_123",
//		AmountCents: 2500,
//		Currency:    "EUR",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	fmt.Println(inv.ID, inv.Status) // 91733d96-… created
//
// An invoice is then processed in the background: [Client.GetInvoice] shows
// it InvoiceProcessed or InvoiceFailed, and subscribers hear of each step
// by webhook.
//
// # Exactly once
//
// [Client.CreateInvoice] sends an Idempotency-Key: the same on every retry
// of the call, so a request whose answer was lost creates no second
// invoice. The key is a random UUID unless [WithIdempotencyKey] gives one;
// give one that your own records hold (an order number, say) and a retry
// from another process, or after a crash, is just as safe. The Replayed
// field of the [CreatedInvoice] it returns reports whether an earlier
// request made the invoice. The same key with other parameters fails with
// [ErrIdempotencyKeyReused].
//
// # Errors
//
// Every error answer of the service becomes an [*Error], carrying the
// problem's type, title, detail, the fields at fault, the Retry-After it
// asked for, and the X-Request-ID that names the request in the service's
// logs. Test its kind with errors.Is and a [ProblemType], or get at it with
// errors.As:
//
//	_, err := c.GetInvoice(ctx, id)
//	if errors.Is(err, client.ErrNotFound) {
//		// no such invoice in this account
//	}
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
//		for _, f := range apiErr.Errors {
//			fmt.Println(f.Field, f.Detail)
//		}
//	}
//
// An answer that is not a problem (a proxy's error page) is still an
// [*Error], with the status and an empty Type. No answer at all gives an
// error wrapping the transport's.
//
// # Retries
//
// A call is retried, with jittered exponential backoff and never sooner
// than a Retry-After the service sent, when the service was rate limited
// (429), when the first request with an Idempotency-Key is still in flight
// (409 [ErrRequestInFlight]), and when no connection could be made. A 502,
// 503 or 504 and a network error after the request was sent are retried
// only for calls that are safe to repeat: every read, every update to given
// values, CreateInvoice (its key makes it so), RetryDelivery,
// RecoverSubscription and DeleteSubscription. CreateSubscription,
// RotateSubscriptionSecret and SendTestEvent would act twice, so they are
// not. No other 4xx and no 500 is retried. [WithRetry] bounds the attempts
// and the time spent, [WithBackoff] the waits; the call's context bounds it
// all, and a wait that would outlast the context's deadline is not begun.
//
// # Lists
//
// [Client.ListInvoices], [Client.ListDeliveries] and
// [Client.ListSubscriptions] return iterators that fetch page after page as
// they go, newest first. An error is yielded once, and ends the list:
//
//	for inv, err := range c.ListInvoices(ctx, client.InvoiceListParams{CustomerID: "cust_123"}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(inv.ID, inv.AmountCents)
//	}
//
// [Client.ListInvoicesPage] and [Client.ListDeliveriesPage] return one
// [Page], for a caller that keeps the cursor itself (a web page's "next"
// link, say).
//
// # Webhooks
//
// [Client.CreateSubscription] returns the subscription's signing secret,
// the only time but [Client.RotateSubscriptionSecret] that it is shown.
// Package [github.com/invoiced/invoiced/client/webhook] verifies the
// deliveries signed with it and decodes their events. The delivery log is
// [Client.ListDeliveries] and [Client.GetDelivery]; [Client.RetryDelivery]
// and [Client.RecoverSubscription] send deliveries again, and
// [Client.SendTestEvent] sends a made-up one.
//
// # Options
//
// [WithHTTPClient] sends the requests through an http.Client of your own:
// for timeouts, proxies or TLS, or, with a Transport that calls an
// http.Handler, to reach a service in the same process. [WithUserAgent]
// names your program in the service's logs, and [WithLogger] logs each
// retry. Per call, [WithRequestID] sets the X-Request-ID to follow a request
// through the service's logs, and [WithResponseInfo] records the status,
// headers and attempts of its answer.
package client
