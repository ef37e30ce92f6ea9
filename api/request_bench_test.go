package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// benchRequestBody is the body BenchmarkCreateInvoice posts.
const benchRequestBody = `{"customer_id":"cust_123","amount_cents":2500,"currency":"USD","metadata":{"order":"42"}}`

// benchBodies are bodies of a typical and of a large valid request.
var benchBodies = []struct{ name, body string }{
	{"typical", benchRequestBody},
	{"full", `{"customer_id":"cus_\u00e9t\u00e9","amount_cents":1000000000000,"currency":"EUR",` +
		`"description":"` + strings.Repeat(`Consulting, March \"on site\"\n`, 20) + `",` +
		`"metadata":{` + benchMetadata(MaxMetadataPairs) + `}}`},
}

// benchMetadata returns n JSON metadata members.
func benchMetadata(n int) string {
	members := make([]string, n)
	for i := range members {
		members[i] = `"key_` + string(rune('a'+i)) + `":"value <` + string(rune('a'+i)) + `>"`
	}
	return strings.Join(members, ",")
}

func BenchmarkDecodeInvoiceRequest(b *testing.B) {
	decoders := []struct {
		name   string
		decode func([]byte) (invoiceRequest, error)
	}{
		{"parser", decodeInvoiceRequest},
		{"strict", decodeInvoiceRequestStrict},
	}
	for _, body := range benchBodies {
		for _, d := range decoders {
			b.Run(body.name+"/"+d.name, func(b *testing.B) {
				raw := []byte(body.body)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.decode(raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkRequestHash(b *testing.B) {
	hashes := []struct {
		name string
		hash func(invoiceRequest) string
	}{
		{"append", invoiceRequest.hash},
		{"marshal", hashByMarshal},
	}
	for _, body := range benchBodies {
		req, err := decodeInvoiceRequest([]byte(body.body))
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range hashes {
			b.Run(body.name+"/"+h.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					h.hash(req)
				}
			})
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its headers.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkInvoiceResponse(b *testing.B) {
	processed := time.Date(2025, 3, 1, 12, 0, 1, 500_000_000, time.UTC)
	inv := events.Invoice{
		ID: "3f1e5a4c-9d2b-5e7f-8a6b-1c2d3e4f5a6b", Status: events.StatusProcessed,
		CustomerID: "cust_123", AmountCents: 2500, Currency: "USD",
		Metadata:  map[string]string{"order": "42"},
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 123_456_000, time.UTC), ProcessedAt: &processed,
	}
	writers := []struct {
		name  string
		write func(http.ResponseWriter)
	}{
		{"append", func(w http.ResponseWriter) { writeInvoice(w, http.StatusCreated, inv) }},
		{"marshal", func(w http.ResponseWriter) { writeJSON(w, http.StatusCreated, newInvoiceResponse(inv)) }},
	}
	for _, wr := range writers {
		b.Run(wr.name, func(b *testing.B) {
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				wr.write(w)
			}
		})
	}
}
