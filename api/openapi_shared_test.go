package api_test

import (
	"fmt"
	"net/http"
	"slices"
)

// oaTemplates are a valid request of each operation that needs an API key,
// from which the answers every such operation shares are replayed: 401
// without an accepted key, 429 over the rate, 503 without JetStream.
func oaTemplates(f *oaFixtures) []oaCase {
	since := fmt.Sprintf(`{"since":%q}`, f.since)
	return []oaCase{
		{op: "getAccount", method: http.MethodGet, path: "/account"},
		{op: "createInvoice", method: http.MethodPost, path: "/invoices", header: oaJSON("Idempotency-Key", "shared"), body: `{"customer_id":"c","amount_cents":1}`},
		{op: "listInvoices", method: http.MethodGet, path: "/invoices?customer_id=cust-hooks"},
		{op: "getInvoice", method: http.MethodGet, path: "/invoices/" + f.processed},
		{op: "listInvoiceEvents", method: http.MethodGet, path: "/invoices/" + f.processed + "/events"},
		{op: "listEvents", method: http.MethodGet, path: "/events?type=invoice.processed"},
		{op: "createSubscription", method: http.MethodPost, path: "/webhooks/subscriptions", header: oaJSON(), body: fmt.Sprintf(`{"url":%q}`, f.hooks+"/hooks/shared")},
		{op: "listSubscriptions", method: http.MethodGet, path: "/webhooks/subscriptions"},
		{op: "getSubscription", method: http.MethodGet, path: oaSubPath + f.okSub},
		{op: "updateSubscription", method: http.MethodPatch, path: oaSubPath + f.patchSub, header: oaJSON(), body: `{"description":"shared"}`},
		{op: "deleteSubscription", method: http.MethodDelete, path: oaSubPath + f.okSub},
		{op: "rotateSubscriptionSecret", method: http.MethodPost, path: oaSubPath + f.okSub + "/rotate-secret"},
		{op: "getSubscriptionPublicKeys", method: http.MethodGet, path: oaSubPath + f.edSub + "/public-keys"},
		{op: "recoverSubscriptionDeliveries", method: http.MethodPost, path: oaSubPath + f.failSub + "/recover", header: oaJSON(), body: since},
		{op: "sendTestEvent", method: http.MethodPost, path: oaSubPath + f.failSub + "/test", header: oaJSON(), body: `{}`},
		{op: "listDeliveries", method: http.MethodGet, path: "/webhooks/deliveries?subscription_id=" + f.okSub},
		{op: "getDelivery", method: http.MethodGet, path: "/webhooks/deliveries/" + f.delivered},
		{op: "retryDelivery", method: http.MethodPost, path: "/webhooks/deliveries/" + f.delivered + "/retry"},
	}
}

// oaShared derives from the templates the answers the operations share, for
// each status the operation documents.
func oaShared(s *oaSpec, f *oaFixtures) []oaCase {
	documented := s.documented()
	var cases []oaCase
	for _, tmpl := range oaTemplates(f) {
		has := func(status string) bool { return slices.Contains(documented[tmpl.op], status) }
		add := func(name string, status int, edit func(*oaCase)) {
			if has(fmt.Sprint(status)) {
				c := tmpl
				c.name, c.status = name, status
				edit(&c)
				cases = append(cases, c)
			}
		}
		add("401 without a key", http.StatusUnauthorized, func(c *oaCase) { c.auth, c.invalid = "-", true })
		add("401 with a key not accepted", http.StatusUnauthorized, func(c *oaCase) { c.auth = "Bearer not-a-key" })
		add("429 over the rate", http.StatusTooManyRequests, func(c *oaCase) { c.on = oaLimited })
		add("503 JetStream unreachable", http.StatusServiceUnavailable, func(c *oaCase) { c.on = oaBroken })
	}
	return cases
}
