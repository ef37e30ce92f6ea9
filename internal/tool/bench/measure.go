package bench

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/invoiced/invoiced/client"
)

// Reads are the p99 latencies, in ms, of the reads a history benchmark
// measures.
type Reads struct {
	Invoice   float64 `json:"get_invoice_p99_ms"`
	Customer  float64 `json:"list_by_customer_p99_ms"`
	Failing   float64 `json:"list_failing_deliveries_p99_ms"`
	Requested int     `json:"requests_each"`
}

// MeasureReads sends n of each read through api (which should not retry,
// so that each read is timed alone) one after another, at random among
// invoices 0 to invoices-1 of h and its customers, and returns each one's
// p99. It fails when a read fails.
func MeasureReads(ctx context.Context, api *client.Client, h History, invoices, n int) (Reads, error) {
	rng := rand.New(rand.NewPCG(uint64(invoices), uint64(n)))
	p99 := func(read func() error) (float64, error) {
		lat := &Latencies{}
		for range n {
			start := time.Now()
			if err := read(); err != nil {
				return 0, err
			}
			lat.Add(time.Since(start))
		}
		return lat.Percentile(99), nil
	}
	out := Reads{Requested: n}
	var err error
	if out.Invoice, err = p99(func() error {
		_, err := api.GetInvoice(ctx, h.ID(rng.IntN(invoices)))
		return err
	}); err != nil {
		return out, err
	}
	if out.Customer, err = p99(func() error {
		_, err := api.ListInvoicesPage(ctx, client.InvoiceListParams{CustomerID: h.Customer(rng.IntN(h.Customers))})
		return err
	}); err != nil {
		return out, err
	}
	out.Failing, err = p99(func() error {
		_, err := api.ListDeliveriesPage(ctx, client.DeliveryListParams{Status: client.DeliveryFailing})
		return err
	})
	return out, err
}
