package webhook

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
)

// The v1a example of Svix's server, whose signature is the one in the
// Standard Webhooks specification's example headers, and its public key.
const (
	specPublicKey = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
	specV1a       = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS        = "1614265330"
	specBody      = `{"test": 2432232314}`
)

// testKey returns an ed25519 key pair made from seed, and its public key
// written as the specification writes one.
func testKey(seed byte) (ed25519.PrivateKey, string) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv, "whpk_" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
}

// signV1a returns "v1a," and the base64 ed25519 signature of
// "<id>.<ts>.<body>" under priv, made here with crypto/ed25519 alone.
func signV1a(priv ed25519.PrivateKey, id, ts string, body []byte) string {
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(id+"."+ts+"."+string(body))))
}

// headers returns a delivery's headers carrying sigs.
func headers(id, ts string, sigs ...string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	return h
}

func TestVerifySpecificationV1a(t *testing.T) {
	v, err := NewVerifier(time.Minute, specPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v.now = func() time.Time { return time.Unix(1614265330, 0) }
	if !v.signed(specID, specTS, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "+specV1a, []byte(specBody)) {
		t.Fatal("the specification's v1a signature does not verify")
	}
	// The body is signed but is no event: only the signature passed.
	if _, err := v.Verify(headers(specID, specTS, specV1a), []byte(specBody)); !errors.Is(err, ErrPayload) {
		t.Fatalf("Verify = %v, want ErrPayload", err)
	}
	if _, err := v.Verify(headers(specID, specTS, specV1a), []byte(specBody+" ")); !errors.Is(err, ErrSignature) {
		t.Fatalf("changed body: %v, want ErrSignature", err)
	}
}

func TestVerifyV1a(t *testing.T) {
	priv, pub := testKey(7)
	otherPriv, otherPub := testKey(8)
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(eventBody)
	sig := signV1a(priv, "evt-1", ts, body)
	v1, err := Sign(secretA, "evt-1", now, body)
	if err != nil {
		t.Fatal(err)
	}

	ev, err := Verify(pub, headers("evt-1", ts, sig), body, 0)
	if err != nil || ev.ID != "evt-1" || ev.Type != client.EventInvoiceProcessed {
		t.Fatalf("Verify = %+v, %v", ev, err)
	}
	// A rotation from a secret to a key: both signatures, both keys.
	both, err := NewVerifier(0, secretA, pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, sigs := range [][]string{{v1, sig}, {sig}, {v1}, {"v1a,AAAA", v1, "v2,x"}, {signV1a(otherPriv, "evt-1", ts, body), sig}} {
		if _, err := both.Verify(headers("evt-1", ts, sigs...), body); err != nil {
			t.Errorf("%q: %v", sigs, err)
		}
	}

	for name, tc := range map[string]struct {
		key, id, ts, body string
		sigs              []string
	}{
		"changed body":          {pub, "evt-1", ts, eventBody + " ", []string{sig}},
		"changed id":            {pub, "evt-2", ts, eventBody, []string{sig}},
		"changed timestamp":     {pub, "evt-1", strconv.FormatInt(now.Unix()+1, 10), eventBody, []string{sig}},
		"timestamp respelled":   {pub, "evt-1", "+" + ts, eventBody, []string{sig}},
		"other key":             {otherPub, "evt-1", ts, eventBody, []string{sig}},
		"v1a to a secret":       {secretA, "evt-1", ts, eventBody, []string{sig}},
		"v1 to a public key":    {pub, "evt-1", ts, eventBody, []string{v1}},
		"v1a relabelled v1":     {pub, "evt-1", ts, eventBody, []string{"v1," + strings.TrimPrefix(sig, "v1a,")}},
		"v1 relabelled v1a":     {secretA, "evt-1", ts, eventBody, []string{"v1a," + strings.TrimPrefix(v1, "v1,")}},
		"no version":            {pub, "evt-1", ts, eventBody, []string{strings.TrimPrefix(sig, "v1a,")}},
		"signature unpadded":    {pub, "evt-1", ts, eventBody, []string{strings.TrimRight(sig, "=")}},
		"signature cut":         {pub, "evt-1", ts, eventBody, []string{sig[:len(sig)-4]}},
		"signature not base64":  {pub, "evt-1", ts, eventBody, []string{"v1a," + strings.Repeat("!", 88)}},
		"signature of zeros":    {pub, "evt-1", ts, eventBody, []string{"v1a," + base64.StdEncoding.EncodeToString(make([]byte, 64))}},
		"other key's signature": {pub, "evt-1", ts, eventBody, []string{signV1a(otherPriv, "evt-1", ts, body)}},
	} {
		if _, err := Verify(tc.key, headers(tc.id, tc.ts, tc.sigs...), []byte(tc.body), 0); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
	old := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	if _, err := Verify(pub, headers("evt-1", old, signV1a(priv, "evt-1", old, body)), body, 0); !errors.Is(err, ErrTimestamp) {
		t.Errorf("too old: %v", err)
	}
}

// TestPublicKeys refuses malformed public keys, and a private key.
func TestPublicKeys(t *testing.T) {
	priv, pub := testKey(9)
	raw := []byte(priv.Public().(ed25519.PublicKey))
	enc := base64.StdEncoding.EncodeToString
	for _, k := range []string{
		"whpk_", "whpk_!!", "whpk_" + enc(raw[:31]), "whpk_" + enc(append(bytes.Clone(raw), 0)), "whpk_" + enc(priv),
		strings.TrimRight(pub, "="), pub + " ", pub[:20] + "\n" + pub[20:], "whpk_" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)),
		pub[:len(pub)-2] + string(pub[len(pub)-2]+1) + "=", // stray padding bits
		"whsk_" + enc(priv), "whsk_" + enc(priv.Seed()), "WHPK_" + pub[5:],
	} {
		if _, err := NewVerifier(0, secretA, k); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("%q: %v", k, err)
		}
		if _, err := Sign(k, "id", time.Now(), nil); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("sign with %q: %v", k, err)
		}
	}
	if _, err := NewVerifier(0, pub, secretA, secretB); err != nil {
		t.Fatalf("a key and two secrets: %v", err)
	}
}

// FuzzParseKey gives NewVerifier any key. It never panics and fails only
// with ErrInvalidSecret; it takes a whpk_ key exactly when what follows is
// the one base64 spelling of 32 bytes, never takes a whsk_ one, and takes
// anything else as the existing secrets did: base64 of at least one byte,
// the whsec_ prefix optional.
func FuzzParseKey(f *testing.F) {
	_, pub := testKey(1)
	for _, s := range []string{pub, specPublicKey, secretA, secretB, "whpk_", "whpk_AAAA", "whsk_" + strings.Repeat("A", 86) + "==",
		strings.TrimRight(pub, "="), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "", "whpk_" + strings.Repeat("/", 43) + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := NewVerifier(0, s)
		if err != nil && !errors.Is(err, ErrInvalidSecret) {
			t.Fatalf("%q: an error of no known kind: %v", s, err)
		}
		switch {
		case strings.HasPrefix(s, "whpk_"):
			raw, derr := base64.StdEncoding.DecodeString(s[5:])
			want := derr == nil && len(raw) == 32 && base64.StdEncoding.EncodeToString(raw) == s[5:]
			if (err == nil) != want {
				t.Fatalf("public key %q: %v", s, err)
			}
			if err == nil && (len(v.keys) != 1 || !bytes.Equal(v.keys[0].public, raw) || v.keys[0].secret != nil) {
				t.Fatalf("public key %q read as %+v", s, v.keys)
			}
		case strings.HasPrefix(s, "whsk_"):
			if err == nil {
				t.Fatalf("took the private key %q", s)
			}
		default:
			raw, derr := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
			if want := derr == nil && len(raw) > 0; (err == nil) != want {
				t.Fatalf("secret %q: %v", s, err)
			}
			if err == nil && (len(v.keys) != 1 || !bytes.Equal(v.keys[0].secret, raw) || v.keys[0].public != nil) {
				t.Fatalf("secret %q read as %+v", s, v.keys)
			}
		}
	})
}

// FuzzVerifyV1a verifies any headers and body against a fixed public key
// and clock. It never panics; it accepts a delivery only when one of its
// values is "v1a," and base64 that crypto/ed25519 takes as a signature of
// "<id>.<timestamp>.<body>"; and when sign adds such a signature to an
// event timestamped within the tolerance, it accepts it.
func FuzzVerifyV1a(f *testing.F) {
	now := time.Unix(1767225600, 0)
	priv, pub := testKey(3)
	v, err := NewVerifier(5*time.Minute, pub)
	if err != nil {
		f.Fatal(err)
	}
	v.now = func() time.Time { return now }
	oracle := func(id, ts, sigs string, body []byte) bool {
		for _, s := range strings.Fields(sigs) {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "v1a,"))
			if strings.HasPrefix(s, "v1a,") && err == nil &&
				ed25519.Verify(priv.Public().(ed25519.PublicKey), []byte(id+"."+ts+"."+string(body)), raw) {
				return true
			}
		}
		return false
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add("evt-1", ts, "", []byte(eventBody), true)
	f.Add("evt-1", ts, signV1a(priv, "evt-1", ts, []byte(eventBody)), []byte(eventBody), false)
	f.Add("evt-1", ts, "v1,AAAA v1a,BBBB", []byte(eventBody), false)
	f.Add("a.b", ts, "v1a, v1a,,", []byte(`{"type":"x"}`), true)
	f.Add("", "+1767225600", specV1a, []byte(nil), true)
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte, sign bool) {
		if sign {
			sigs += " " + signV1a(priv, id, ts, body)
		}
		ev, err := v.Verify(headers(id, ts, sigs), body)
		if err != nil {
			if !errors.Is(err, ErrMissingHeader) && !errors.Is(err, ErrTimestamp) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrPayload) {
				t.Fatalf("an error of no known kind: %v", err)
			}
		} else if !oracle(id, ts, sigs, body) || ev.ID != id || ev.Type == "" {
			t.Fatalf("verified without the key's signature: id %q ts %q sigs %q body %q: %+v", id, ts, sigs, body, ev)
		}
		secs, perr := strconv.ParseInt(ts, 10, 64)
		var e client.Event
		valid := sign && id != "" && perr == nil && secs >= now.Unix()-300 && secs <= now.Unix()+300 &&
			json.Unmarshal(body, &e) == nil && e.Type != ""
		if valid && err != nil {
			t.Fatalf("refused a delivery signed with the key: %v (id %q ts %q body %q)", err, id, ts, body)
		}
	})
}

// TestOnlyTheFirstSignaturesAreRead checks that a signature past the
// first eight values of webhook-signature is not looked at, so a forged
// header of many values costs a few checks.
func TestOnlyTheFirstSignaturesAreRead(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body, id, at := []byte(`{"type":"invoice.created","timestamp":"2026-01-01T00:00:00Z","data":{}}`), "msg_1", time.Now()
	sig, err := Sign(secret, id, at, body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(time.Minute, secret)
	if err != nil {
		t.Fatal(err)
	}
	header := func(sigs string) http.Header {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(HeaderSignature, sigs)
		return h
	}
	junk := strings.Repeat("v1,AAAA ", maxSignatures-1)
	if _, err := v.Verify(header(junk+sig), body); err != nil {
		t.Fatalf("the eighth value: %v", err)
	}
	if _, err := v.Verify(header(junk+"v1,AAAA "+sig), body); !errors.Is(err, ErrSignature) {
		t.Fatalf("the ninth value was read: %v", err)
	}
}
