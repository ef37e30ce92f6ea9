package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/webhook"
)

func newTestReceiver(t testing.TB, secret string) (*receiver, *bytes.Buffer) {
	t.Helper()
	key, err := signingKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	return &receiver{key: key, seen: map[string]bool{}, out: out, now: time.Now}, out
}

func deliver(t testing.TB, rc *receiver, id string, ts time.Time, body string, secrets ...string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	if err := webhook.SetHeaders(req.Header, id, ts, []byte(body), secrets...); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	return rec.Code
}

// TestReceiverVerifiesAsTheServiceSigns checks the receiver against the
// service's own signing: a delivery verifies, once; another secret, an old
// timestamp or a changed body do not.
func TestReceiverVerifiesAsTheServiceSigns(t *testing.T) {
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	other, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	rc, out := newTestReceiver(t, secret)
	body := `{"type":"invoice.processed","timestamp":"2026-12-07T00:00:00Z","data":{"id":"x"}}`
	now := time.Now()
	tests := []struct {
		name    string
		id      string
		ts      time.Time
		secrets []string
		want    int
	}{
		{"signed", "msg_1", now, []string{secret}, http.StatusNoContent},
		{"signed again, a retry", "msg_1", now, []string{secret}, http.StatusNoContent},
		{"signed with a rotated secret beside", "msg_2", now, []string{other, secret}, http.StatusNoContent},
		{"another secret", "msg_3", now, []string{other}, http.StatusUnauthorized},
		{"too old", "msg_4", now.Add(-10 * time.Minute), []string{secret}, http.StatusUnauthorized},
		{"from the future", "msg_5", now.Add(10 * time.Minute), []string{secret}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		if got := deliver(t, rc, tt.id, tt.ts, body, tt.secrets...); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if got, want := out.String(), "verified msg_1 "+body+"\nrepeat msg_1, already handled\nverified msg_2 "+body+"\n"; got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}

	// A body changed after signing.
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body+" "))
	if err := webhook.SetHeaders(req.Header, "msg_6", now, []byte(body), secret); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("changed body: %d, want 401", rec.Code)
	}
}

func TestSigningKeyRefusesWhatIsNoSecret(t *testing.T) {
	for _, s := range []string{"", "whsec_", "secret", "whsec_not base64!", "WHSEC_AAAA"} {
		if _, err := signingKey(s); err == nil {
			t.Errorf("signingKey(%q) accepted", s)
		}
	}
}

// FuzzVerify checks that no header values verify without the key's
// signature, and that none panics.
func FuzzVerify(f *testing.F) {
	f.Add("msg_1", "1700000000", "v1,abc", []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Add("a.b", "-1", "v1, v1,,v2,x", []byte("\x00"))
	secret, _ := webhook.NewSecret()
	rc, _ := newTestReceiver(f, secret)
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte) {
		if rc.verify(id, ts, sigs, body) == nil {
			t.Fatalf("verified id %q ts %q sigs %q without a signature", id, ts, sigs)
		}
	})
}
