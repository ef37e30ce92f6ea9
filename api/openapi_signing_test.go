package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// oaSigningCases are the answers about ed25519 signing: a subscription
// made with it, its public keys, their rotation, and what is refused.
func oaSigningCases(f *oaFixtures) []oaCase {
	create := func(name, body string, status int) oaCase {
		return oaCase{name: name, op: "createSubscription", method: http.MethodPost, path: "/webhooks/subscriptions", body: body, status: status, header: oaJSON()}
	}
	keys := func(name, id string, status int) oaCase {
		return oaGet(name, "getSubscriptionPublicKeys", oaSubPath+id+"/public-keys", status)
	}
	return []oaCase{
		oaWith(create("201 signed with ed25519", `{"url":"`+f.hooks+`/hooks/ed-new","signing":"ed25519"}`, http.StatusCreated), oaPublicKeys("public_keys", 1)),
		oaWith(create("201 signed with hmac, said so", `{"url":"`+f.hooks+`/hooks/hmac-new","signing":"hmac"}`, http.StatusCreated), oaWant("signing", "hmac")),
		oaInvalid(create("400 unknown signing", `{"url":"`+f.hooks+`/hooks/ed-bad","signing":"rsa"}`, http.StatusBadRequest), "signing"),
		oaLax(create("400 ed25519 with a secret", `{"url":"`+f.hooks+`/hooks/ed-secret","signing":"ed25519","secret":"whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}`,
			http.StatusBadRequest), "secret"),
		oaInvalid(oaCase{name: "400 signing changed", op: "updateSubscription", method: http.MethodPatch, path: oaSubPath + f.edSub,
			body: `{"signing":"hmac"}`, status: http.StatusBadRequest, header: oaJSON()}, "signing"),
		oaWith(keys("200 one key", f.edSub, http.StatusOK), oaPublicKeys("keys", 1)),
		oaWith(oaCase{name: "200 ed25519 rotated", op: "rotateSubscriptionSecret", method: http.MethodPost, path: oaSubPath + f.edSub + "/rotate-secret",
			status: http.StatusOK}, oaPublicKeys("public_keys", 2)),
		oaWith(keys("200 both keys in the overlap", f.edSub, http.StatusOK), oaPublicKeys("keys", 2)),
		oaWith(keys("200 none for hmac", f.okSub, http.StatusOK), oaPublicKeys("keys", 0)),
		keys("404 unknown", uuid.NewString(), http.StatusNotFound),
	}
}

// oaPublicKeys checks that the answer lists n public keys under field,
// and no secret.
func oaPublicKeys(field string, n int) func(testing.TB, oaResult) {
	return func(t testing.TB, r oaResult) {
		t.Helper()
		var got map[string]any
		r.decode(t, &got)
		keys, _ := got[field].([]any)
		if len(keys) != n || strings.Contains(string(r.body), "whsk_") || got["secret"] != nil {
			t.Fatalf("%d public keys, want %d, and no secret: %s", len(keys), n, r.body)
		}
	}
}
