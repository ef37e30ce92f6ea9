package faults_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// awaitBatches returns once the service at base has stored a new atomic
// batch on INVOICES and on WEBHOOKS since it was first asked, polling its
// metrics; it fails the test after within.
func awaitBatches(t *testing.T, base string, within time.Duration) {
	t.Helper()
	var first map[string]float64
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		now, err := batches(base)
		if err == nil && first == nil {
			first = now
		}
		if err == nil && now["INVOICES"] > first["INVOICES"] && now["WEBHOOKS"] > first["WEBHOOKS"] {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no new atomic batch on both streams within %s", within)
}

// batches returns invoiced_publish_batches_total by stream from the
// metrics at base.
func batches(base string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), " ")
		stream, found := strings.CutPrefix(name, `invoiced_publish_batches_total{stream="`)
		if !ok || !found {
			continue
		}
		if out[strings.TrimSuffix(stream, `"}`)], err = strconv.ParseFloat(value, 64); err != nil {
			return nil, err
		}
	}
	return out, lines.Err()
}
