package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
)

// FuzzVerify verifies any headers and body against a fixed secret and
// clock. It never panics; it accepts a delivery only when one of its
// signatures is the HMAC-SHA256 of "<id>.<timestamp>.<body>" under the
// secret, computed here on its own; and when sign adds that signature to
// an event timestamped within the tolerance, it accepts it.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1767225600, 0)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secretA, "whsec_"))
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(5*time.Minute, secretA)
	if err != nil {
		f.Fatal(err)
	}
	v.now = func() time.Time { return now }
	oracle := func(id, ts string, body []byte) string {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add("evt-1", ts, "", []byte(eventBody), true)
	f.Add("evt-1", ts, oracle("evt-1", ts, []byte(eventBody)), []byte(eventBody), false)
	f.Add("evt-1", ts, "v1,AAAA v2,BBBB", []byte(eventBody), false)
	f.Add("evt-1", "1767225000", "v1,", []byte(`{"type":"invoice.created"}`), true)
	f.Add("a.b", ts, "v1a,x", []byte(`{}`), true)
	f.Add("", "+1767225600", "v1, v1,,", []byte(nil), true)
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte, sign bool) {
		if sign {
			sigs += " " + oracle(id, ts, body)
		}
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sigs)
		ev, err := v.Verify(h, body)
		if err != nil {
			if !errors.Is(err, ErrMissingHeader) && !errors.Is(err, ErrTimestamp) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrPayload) {
				t.Fatalf("an error of no known kind: %v", err)
			}
		} else {
			if !slices.Contains(strings.Fields(sigs), oracle(id, ts, body)) {
				t.Fatalf("verified without the secret's signature: id %q ts %q sigs %q body %q", id, ts, sigs, body)
			}
			if ev.ID != id || ev.Type == "" {
				t.Fatalf("verified event %+v", ev)
			}
		}
		secs, perr := strconv.ParseInt(ts, 10, 64)
		var e client.Event
		valid := sign && id != "" && strings.TrimSpace(sigs) != "" && perr == nil && secs >= now.Unix()-300 && secs <= now.Unix()+300 &&
			json.Unmarshal(body, &e) == nil && e.Type != ""
		if valid && err != nil {
			t.Fatalf("refused a delivery signed with the secret: %v (id %q ts %q body %q)", err, id, ts, body)
		}
	})
}
