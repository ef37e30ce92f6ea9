// Package faults proves invoiced's promises under faults. Its scenarios
// create invoices with internal/tool/loaddriver (Invoices is what they create),
// take webhooks with an internal/tool/webhookrecv receiver that verifies every
// signature and misbehaves on purpose, start real processes and NATS
// servers to kill (Proc, Cluster), and once the service is quiet check
// what came of every acknowledged invoice (Check).
package faults

import (
	"fmt"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
)

// RetryFor is how long a scenario's load retries one request, with its
// key, before it gives up: far longer than any fault lasts.
const RetryFor = 2 * time.Minute

// Invoices returns the invoices a scenario's load creates, as a
// loaddriver Next: invoice n is customer cust_<n mod 50>'s, for a small
// amount that must end processed, but every failEvery-th (none when 0)
// is over limitCents (the service's --max-amount-cents; 0 means its
// default, 100,000,000), so it must end failed.
func Invoices(failEvery int, limitCents int64) func(n int64) loaddriver.Invoice {
	if limitCents == 0 {
		limitCents = 100_000_000
	}
	return func(n int64) loaddriver.Invoice {
		want, amount := client.InvoiceProcessed, 100+n%9_000
		if failEvery > 0 && n%int64(failEvery) == 0 {
			want, amount = client.InvoiceFailed, limitCents+n
		}
		return loaddriver.Invoice{
			Params: client.InvoiceParams{CustomerID: fmt.Sprintf("cust_%d", n%50), AmountCents: amount, Currency: "USD"},
			Want:   want,
		}
	}
}
