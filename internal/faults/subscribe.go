package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Subscribe subscribes r to invoice.processed and invoice.failed on the
// service at base and gives r the subscription's secret. It fails when the
// service does not answer 201.
func Subscribe(ctx context.Context, base, apiKey string, r *Receiver) (Subscriber, error) {
	body := `{"url":"` + r.URL() + `","event_types":["invoice.processed","invoice.failed"]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/subscriptions", strings.NewReader(body))
	if err != nil {
		return Subscriber{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return Subscriber{}, fmt.Errorf("faults: subscribe: %w", err)
	}
	defer res.Body.Close()
	var sub struct{ ID, Secret string }
	if res.StatusCode != http.StatusCreated {
		problem, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
		return Subscriber{}, fmt.Errorf("faults: subscribe: %s: %s", res.Status, problem)
	}
	if err := json.NewDecoder(res.Body).Decode(&sub); err != nil {
		return Subscriber{}, fmt.Errorf("faults: subscribe: %w", err)
	}
	r.SetSecret(sub.Secret)
	return Subscriber{ID: sub.ID, Receiver: r}, nil
}
