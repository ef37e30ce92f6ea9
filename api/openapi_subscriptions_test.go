package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// The paths of the subscriptions, and of one, its ID appended.
const (
	oaSubscriptionsPath = "/webhooks/subscriptions"
	oaSubPath           = oaSubscriptionsPath + "/"
)

// oaCreateSubscriptionCases are createSubscription's answers.
func oaCreateSubscriptionCases(t testing.TB, f *oaFixtures) []oaCase {
	t.Helper()
	hook := f.hooks + "/hooks/new"
	sub := func(name, body string, status int) oaCase {
		return oaCase{name: name, op: "createSubscription", method: http.MethodPost, path: "/webhooks/subscriptions", header: oaJSON(), body: body, status: status}
	}
	return []oaCase{
		oaWith(sub("201 a URL only", fmt.Sprintf(`{"url":%q}`, hook), http.StatusCreated), func(t testing.TB, r oaResult) {
			var got struct {
				ID         string
				EventTypes []string `json:"event_types"`
			}
			r.decode(t, &got)
			if r.header.Get("Location") != "/webhooks/subscriptions/"+got.ID || !slices.Equal(got.EventTypes, webhook.EventTypes) {
				t.Fatalf("%v %s", r.header, r.body)
			}
		}),
		sub("201 every field", fmt.Sprintf(`{"url":%q,"event_types":["invoice.failed","invoice.processed"],"description":"ops\tteam"}`, hook), http.StatusCreated),
		oaInvalid(sub("400 no url", `{}`, http.StatusBadRequest), "url"),
		oaInvalid(sub("400 status given", fmt.Sprintf(`{"url":%q,"status":"enabled"}`, hook), http.StatusBadRequest), "status"),
		oaInvalid(sub("400 not http", `{"url":"ftp://127.0.0.1/hook"}`, http.StatusBadRequest), "url"),
		oaInvalid(sub("400 relative URL", `{"url":"/hooks"}`, http.StatusBadRequest), "url"),
		oaInvalid(sub("400 a password in the URL", `{"url":"http://user:pw@127.0.0.1/hook"}`, http.StatusBadRequest), "url"),
		oaLax(sub("400 a forbidden target", `{"url":"http://10.0.0.1/hook"}`, http.StatusBadRequest), "url"),
		oaInvalid(sub("400 URL too long", fmt.Sprintf(`{"url":%q}`, hook+"/"+strings.Repeat("u", api.MaxURLLen)), http.StatusBadRequest), "url"),
		oaInvalid(sub("400 no event types", fmt.Sprintf(`{"url":%q,"event_types":[]}`, hook), http.StatusBadRequest), "event_types"),
		oaInvalid(sub("400 unknown event type", fmt.Sprintf(`{"url":%q,"event_types":["invoice.paid"]}`, hook), http.StatusBadRequest), "event_types"),
		oaInvalid(sub("400 event type twice", fmt.Sprintf(`{"url":%q,"event_types":["invoice.failed","invoice.failed"]}`, hook), http.StatusBadRequest), "event_types"),
		oaInvalid(sub("400 description too long", oaMarshal(t, map[string]any{"url": hook, "description": strings.Repeat("d", api.MaxSubscriptionDescriptionLen+1)}), http.StatusBadRequest), "description"),
		oaWith(sub("201 a secret given", fmt.Sprintf(`{"url":%q,"secret":%q}`, hook, oaGivenSecret), http.StatusCreated), oaWant("secret", oaGivenSecret)),
		oaInvalid(sub("400 a secret that is no whsec_ secret", fmt.Sprintf(`{"url":%q,"secret":"whsec_x"}`, hook), http.StatusBadRequest), "secret"),
		oaInvalid(sub("400 a secret of 65 bytes", oaMarshal(t, map[string]any{"url": hook, "secret": oaSecretOf(65)}), http.StatusBadRequest), "secret"),
		oaInvalid(sub("400 a secret without its padding", fmt.Sprintf(`{"url":%q,"secret":%q}`, hook, strings.TrimRight(oaSecretOf(25), "=")), http.StatusBadRequest), "secret"),
		oaLax(sub("400 a secret with stray padding bits", fmt.Sprintf(`{"url":%q,"secret":%q}`, hook, oaSecretOf(25)[:len(oaSecretOf(25))-3]+"B=="), http.StatusBadRequest), "secret"),
		oaWith(sub("422 a secret of 16 bytes", oaMarshal(t, map[string]any{"url": hook, "secret": oaSecretOf(16)}), http.StatusUnprocessableEntity),
			func(t testing.TB, r oaResult) {
				if strings.Contains(string(r.body), oaSecretOf(16)[6:]) {
					t.Fatalf("the answer repeats the secret: %s", r.body)
				}
			}),
		oaInvalid(sub("400 unknown field", fmt.Sprintf(`{"url":%q,"signing_key":"x"}`, hook), http.StatusBadRequest), "signing_key"),
		oaInvalid(sub("400 null", `{"url":null}`, http.StatusBadRequest), "url"),
		oaInvalid(sub("400 malformed JSON", `{"url":`, http.StatusBadRequest), ""),
		oaInvalid(sub("400 empty body", ``, http.StatusBadRequest), ""),
		oaLax(sub("413 body over the limit", oaPadded(fmt.Sprintf(`{"url":%q}`, hook)), http.StatusRequestEntityTooLarge), ""),
		oaInvalid(oaHeaders(sub("415 text/plain", fmt.Sprintf(`{"url":%q}`, hook), http.StatusUnsupportedMediaType), "Content-Type", "text/plain"), ""),
	}
}

// oaGivenSecret is a signing secret a client brings: the one of the
// Standard Webhooks specification, 24 bytes.
const oaGivenSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// oaSecretOf is a well-formed secret of n bytes.
func oaSecretOf(n int) string {
	return webhook.SecretPrefix + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n)))
}

// oaReadSubscriptionCases are listSubscriptions's and getSubscription's
// answers.
func oaReadSubscriptionCases(f *oaFixtures) []oaCase {
	list := func(name, query string, status int) oaCase {
		return oaGet(name, "listSubscriptions", oaSubscriptionsPath+query, status)
	}
	return []oaCase{
		oaWith(list("200 every subscription", "?limit=100", http.StatusOK), oaWant("has_more", false)),
		oaWith(list("200 a page", "?limit=1", http.StatusOK), oaWant("has_more", true)),
		oaWith(list("200 the next page", "?limit=1&cursor="+f.subscriptionsCursor, http.StatusOK), oaIDs(f.okSub)),
		list("200 the caller's account", "?account="+api.KeyAccount(oaKey), http.StatusOK),
		oaInvalid(list("400 limit 0", "?limit=0", http.StatusBadRequest), "limit"),
		oaInvalid(list("400 limit over the maximum", fmt.Sprintf("?limit=%d", api.MaxListLimit+1), http.StatusBadRequest), "limit"),
		oaInvalid(list("400 malformed cursor", "?cursor=%25%25", http.StatusBadRequest), "cursor"),
		oaLax(list("400 another list's cursor", "?cursor="+f.deliveriesCursor, http.StatusBadRequest), "cursor"),
		oaLax(list("400 another account", "?account=globex", http.StatusBadRequest), "account"),
		oaLax(list("400 unknown parameter", "?status=enabled", http.StatusBadRequest), "status"),
		oaLax(list("400 repeated parameter", "?limit=1&limit=2", http.StatusBadRequest), "limit"),
		oaOn(list("200 passing over a stored subscription that does not decode", "", http.StatusOK), oaCorrupt),
		oaWith(oaGet("200 enabled", "getSubscription", oaSubPath+f.okSub, http.StatusOK), oaWant("status", "enabled")),
		oaWith(oaGet("200 disabled", "getSubscription", oaSubPath+f.disabledSub, http.StatusOK), oaWant("disabled_reason", "disabled by request")),
		oaGet("404 unknown", "getSubscription", oaSubPath+uuid.NewString(), http.StatusNotFound),
		oaInvalid(oaGet("404 not a UUID", "getSubscription", oaSubPath+"sub_1", http.StatusNotFound), ""),
		oaOn(oaGet("404 stored subscription does not decode", "getSubscription", oaSubPath+f.badSub, http.StatusNotFound), oaCorrupt),
	}
}

// oaUpdateSubscriptionCases are updateSubscription's answers, in the order
// replayed: f.patchSub is disabled, enabled again, then moved.
func oaUpdateSubscriptionCases(f *oaFixtures) []oaCase {
	patch := func(name, id, body string, status int) oaCase {
		return oaCase{name: name, op: "updateSubscription", method: http.MethodPatch, path: oaSubPath + id, header: oaJSON(), body: body, status: status}
	}
	return []oaCase{
		oaWith(patch("200 description", f.patchSub, `{"description":"changed"}`, http.StatusOK), oaWant("description", "changed")),
		patch("200 nothing", f.patchSub, `{}`, http.StatusOK),
		oaWith(patch("200 disable", f.patchSub, `{"status":"disabled"}`, http.StatusOK), oaWant("disabled_reason", "disabled by request")),
		oaWith(patch("200 enable", f.patchSub, `{"status":"enabled"}`, http.StatusOK), oaWant("disabled_reason", nil)),
		oaWith(patch("200 URL and event types", f.patchSub, fmt.Sprintf(`{"url":%q,"event_types":["invoice.created"]}`, f.hooks+"/hooks/patched"), http.StatusOK),
			oaWant("url", f.hooks+"/hooks/patched")),
		oaInvalid(patch("400 unknown status", f.patchSub, `{"status":"paused"}`, http.StatusBadRequest), "status"),
		oaInvalid(patch("400 no event types", f.patchSub, `{"event_types":[]}`, http.StatusBadRequest), "event_types"),
		oaInvalid(patch("400 not http", f.patchSub, `{"url":"mailto:ops@example.com"}`, http.StatusBadRequest), "url"),
		oaInvalid(patch("400 unknown field", f.patchSub, `{"secret":"x"}`, http.StatusBadRequest), "secret"),
		oaInvalid(patch("400 null", f.patchSub, `{"description":null}`, http.StatusBadRequest), "description"),
		oaInvalid(patch("400 before 404", uuid.NewString(), `{"status":"paused"}`, http.StatusBadRequest), "status"),
		patch("404 unknown", uuid.NewString(), `{}`, http.StatusNotFound),
		oaInvalid(patch("404 not a UUID", "sub_1", `{}`, http.StatusNotFound), ""),
		oaLax(patch("413 body over the limit", f.patchSub, oaPadded(`{}`), http.StatusRequestEntityTooLarge), ""),
		oaInvalid(oaHeaders(patch("415 a form", f.patchSub, `{}`, http.StatusUnsupportedMediaType), "Content-Type", "application/x-www-form-urlencoded"), ""),
	}
}

// oaDeleteAndRotateCases are deleteSubscription's and
// rotateSubscriptionSecret's answers, in the order replayed.
func oaDeleteAndRotateCases(f *oaFixtures) []oaCase {
	del := func(name, id string, status int) oaCase {
		return oaCase{name: name, op: "deleteSubscription", method: http.MethodDelete, path: oaSubPath + id, status: status}
	}
	rotate := func(name, id string, status int) oaCase {
		return oaCase{name: name, op: "rotateSubscriptionSecret", method: http.MethodPost, path: oaSubPath + id + "/rotate-secret", status: status}
	}
	return []oaCase{
		del("204 deleted", f.deleteSub, http.StatusNoContent),
		del("404 deleted already", f.deleteSub, http.StatusNotFound),
		oaInvalid(del("404 not a UUID", "sub_1", http.StatusNotFound), ""),
		oaOn(del("404 stored subscription does not decode", f.badSub, http.StatusNotFound), oaCorrupt),
		rotate("200 rotated", f.rotSub, http.StatusOK),
		rotate("404 unknown", uuid.NewString(), http.StatusNotFound),
		oaInvalid(rotate("404 not a UUID", "sub_1", http.StatusNotFound), ""),
	}
}

// oaRecoverCases are recoverSubscriptionDeliveries's answers.
func oaRecoverCases(f *oaFixtures) []oaCase {
	recoverSub := func(name, id, body string, status int) oaCase {
		return oaCase{name: name, op: "recoverSubscriptionDeliveries", method: http.MethodPost, path: oaSubPath + id + "/recover", header: oaJSON(), body: body, status: status}
	}
	since := fmt.Sprintf(`{"since":%q}`, f.since)
	return []oaCase{
		oaWith(recoverSub("202 failing and dead deliveries", f.failSub, since, http.StatusAccepted), oaWant("recovered", 4)),
		oaWith(recoverSub("202 nothing to recover", f.okSub, since, http.StatusAccepted), oaWant("recovered", 0)),
		oaInvalid(recoverSub("400 no since", f.failSub, `{}`, http.StatusBadRequest), "since"),
		oaInvalid(recoverSub("400 since not RFC 3339", f.failSub, `{"since":"yesterday"}`, http.StatusBadRequest), "since"),
		oaLax(recoverSub("400 since in the future", f.failSub, fmt.Sprintf(`{"since":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), http.StatusBadRequest), "since"),
		oaInvalid(recoverSub("400 unknown field", f.failSub, `{"until":"2024-01-01T00:00:00Z"}`, http.StatusBadRequest), "until"),
		oaInvalid(recoverSub("400 null", f.failSub, `{"since":null}`, http.StatusBadRequest), "since"),
		recoverSub("404 unknown subscription", uuid.NewString(), since, http.StatusNotFound),
		oaInvalid(recoverSub("404 not a UUID", "sub_1", since, http.StatusNotFound), ""),
		recoverSub("409 disabled", f.disabledSub, since, http.StatusConflict),
		oaLax(recoverSub("413 body over the limit", f.failSub, oaPadded(since), http.StatusRequestEntityTooLarge), ""),
		oaInvalid(oaHeaders(recoverSub("415 no Content-Type", f.failSub, since, http.StatusUnsupportedMediaType)), ""),
		oaOn(recoverSub("404 stored subscription does not decode", f.badSub, since, http.StatusNotFound), oaCorrupt),
	}
}
