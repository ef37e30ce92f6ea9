package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// Reads are the p99 latencies, in ms, of the reads a history benchmark
// measures.
type Reads struct {
	Invoice   float64 `json:"get_invoice_p99_ms"`
	Customer  float64 `json:"list_by_customer_p99_ms"`
	Failing   float64 `json:"list_failing_deliveries_p99_ms"`
	Requested int     `json:"requests_each"`
}

// MeasureReads sends n of each read to base one after another, at random
// among invoices 0 to invoices-1 of h and its customers, and returns each
// one's p99. It fails when a read is not answered 200.
func MeasureReads(ctx context.Context, client *http.Client, base string, h History, invoices, n int) (Reads, error) {
	rng := rand.New(rand.NewPCG(uint64(invoices), uint64(n)))
	p99 := func(path func() string) (float64, error) {
		lat := &Latencies{}
		for range n {
			start := time.Now()
			if err := get(ctx, client, base+path()); err != nil {
				return 0, err
			}
			lat.Add(time.Since(start))
		}
		return lat.Percentile(99), nil
	}
	out := Reads{Requested: n}
	var err error
	if out.Invoice, err = p99(func() string { return "/invoices/" + h.ID(rng.IntN(invoices)) }); err != nil {
		return out, err
	}
	if out.Customer, err = p99(func() string {
		return "/invoices?" + url.Values{"customer_id": {h.Customer(rng.IntN(h.Customers))}}.Encode()
	}); err != nil {
		return out, err
	}
	out.Failing, err = p99(func() string { return "/webhooks/deliveries?status=failing" })
	return out, err
}

func get(ctx context.Context, client *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return nil
}
