package api_test

import (
	"net/http"

	"github.com/google/uuid"
)

// oaTestEventCases are sendTestEvent's answers.
func oaTestEventCases(f *oaFixtures) []oaCase {
	send := func(name, id, body string, status int) oaCase {
		return oaCase{name: name, op: "sendTestEvent", method: http.MethodPost, path: oaSubPath + id + "/test", header: oaJSON(), body: body, status: status}
	}
	const failed = `{"event_type":"invoice.failed"}`
	return []oaCase{
		oaWith(send("202 a chosen type", f.failSub, failed, http.StatusAccepted), oaWant("event_type", "invoice.failed")),
		send("202 the subscription's first type", f.failSub, `{}`, http.StatusAccepted),
		oaInvalid(send("400 unknown type", f.failSub, `{"event_type":"invoice.paid"}`, http.StatusBadRequest), "event_type"),
		oaInvalid(send("400 unknown field", f.failSub, `{"type":"invoice.failed"}`, http.StatusBadRequest), "type"),
		send("404 unknown subscription", uuid.NewString(), failed, http.StatusNotFound),
		oaInvalid(send("404 not a UUID", "sub_1", failed, http.StatusNotFound), ""),
		send("409 disabled", f.disabledSub, failed, http.StatusConflict),
		oaLax(send("413 body over the limit", f.failSub, oaPadded(failed), http.StatusRequestEntityTooLarge), ""),
		oaInvalid(oaHeaders(send("415 no Content-Type", f.failSub, failed, http.StatusUnsupportedMediaType)), ""),
		oaOn(send("404 stored subscription does not decode", f.badSub, failed, http.StatusNotFound), oaCorrupt),
	}
}
