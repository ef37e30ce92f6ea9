package api_test

import (
	"net/http"
)

// oaOrderingCases are the answers about a subscription's ordering: made
// with and without it, changed both ways, and what is refused. They change
// f.patchSub and leave it ordered as none.
func oaOrderingCases(f *oaFixtures) []oaCase {
	create := func(name, body string, status int) oaCase {
		return oaCase{name: name, op: "createSubscription", method: http.MethodPost, path: oaSubscriptionsPath, body: body, status: status, header: oaJSON()}
	}
	patch := func(name, body string, status int) oaCase {
		return oaCase{name: name, op: "updateSubscription", method: http.MethodPatch, path: oaSubPath + f.patchSub, body: body, status: status, header: oaJSON()}
	}
	return []oaCase{
		oaWith(create("201 ordered per invoice", `{"url":"`+f.hooks+`/hooks/ordered","ordering":"per_invoice"}`, http.StatusCreated),
			oaWant("ordering", "per_invoice")),
		oaWith(create("201 without ordering, shown as none", `{"url":"`+f.hooks+`/hooks/unordered"}`, http.StatusCreated),
			oaWant("ordering", "none")),
		oaWith(create("201 ordering none, said so", `{"url":"`+f.hooks+`/hooks/none","ordering":"none"}`, http.StatusCreated),
			oaWant("ordering", "none")),
		oaInvalid(create("400 unknown ordering", `{"url":"`+f.hooks+`/hooks/fifo","ordering":"fifo"}`, http.StatusBadRequest), "ordering"),
		// The document says no null in prose: with a default, the validator
		// takes null for the default.
		oaLax(create("400 ordering null", `{"url":"`+f.hooks+`/hooks/null","ordering":null}`, http.StatusBadRequest), "ordering"),
		oaWith(patch("200 ordering per invoice", `{"ordering":"per_invoice"}`, http.StatusOK), oaWant("ordering", "per_invoice")),
		oaWith(patch("200 ordering kept by another change", `{"description":"still ordered"}`, http.StatusOK), oaWant("ordering", "per_invoice")),
		oaWith(patch("200 ordering back to none", `{"ordering":"none"}`, http.StatusOK), oaWant("ordering", "none")),
		oaInvalid(patch("400 unknown ordering", `{"ordering":"per_customer"}`, http.StatusBadRequest), "ordering"),
	}
}
