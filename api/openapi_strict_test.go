package api_test

import (
	"fmt"
	"net/http"
)

// oaQueryCases are the answers of the operations that read a query string
// to one that does not parse or names a parameter without a name: 400,
// never a list read from what parses.
func oaQueryCases() []oaCase {
	var cases []oaCase
	for _, list := range []struct{ op, path string }{{"listInvoices", "/invoices"}, {"listDeliveries", oaDeliveriesPath},
		{"listSubscriptions", oaSubscriptionsPath}} {
		for _, q := range []struct{ name, query string }{
			{"400 a semicolon separator", "?status=failed;status=processed"},
			{"400 a bad escape", "?status=%zz"},
			{"400 a parameter without a name", "?=failed"},
		} {
			cases = append(cases, oaLax(oaGet(q.name, list.op, list.path+q.query, http.StatusBadRequest), ""))
		}
	}
	return cases
}

// oaPortCases are createSubscription's and updateSubscription's answers to
// a URL whose port is out of range: 400 naming url.
func oaPortCases(f *oaFixtures) []oaCase {
	var cases []oaCase
	for _, port := range []string{"0", "65536"} {
		body := fmt.Sprintf(`{"url":%q}`, "https://example.com:"+port+"/hook")
		cases = append(cases,
			oaLax(oaCase{name: "400 port " + port, op: "createSubscription", method: http.MethodPost,
				path: "/webhooks/subscriptions", header: oaJSON(), body: body, status: http.StatusBadRequest}, "url"),
			oaLax(oaCase{name: "400 port " + port, op: "updateSubscription", method: http.MethodPatch,
				path: oaSubPath + f.patchSub, header: oaJSON(), body: body, status: http.StatusBadRequest}, "url"))
	}
	return cases
}
