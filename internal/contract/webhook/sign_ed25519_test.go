package webhook

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	clientwebhook "github.com/invoiced/invoiced/client/webhook"
)

// The v1a test vectors, all over the specification's example message
// (specID, specTime, specBody).
var ed25519Vectors = []struct {
	name, signingKey, publicKey, sig string
}{
	// Svix's server test of asymmetric signing: its signature is the v1a
	// example in the specification's "Webhook headers" section.
	{"svix and the specification's example header",
		"whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==",
		"whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
		"v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="},
	// The JavaScript library's v1a change (64-byte key of the seed 0x01…).
	{"javascript library",
		"whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQGKiOPddAnxlf1S2y08ul1yymcJvx2UEhvzdIgBtA9vXA==",
		"whpk_iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=",
		"v1a,Ykcu7AtGZGmZxFEH1Gaa2Nd7feY/CTuruoL4fqgnKwfbHU4DhemoVHZdvGfIvKvn4BIgwktLGGPGIr/i9nK7AA=="},
	// The Go library's v1a change, whose key is the 32-byte seed alone.
	{"go library, seed form",
		"whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=",
		"whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=",
		"v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="},
}

func TestSignEd25519MatchesVectors(t *testing.T) {
	for _, v := range ed25519Vectors {
		t.Run(v.name, func(t *testing.T) {
			if got, err := Sign(v.signingKey, specID, specTime, []byte(specBody)); err != nil || got != v.sig {
				t.Fatalf("Sign = %q, %v; want %q", got, err, v.sig)
			}
			if got, err := PublicKeyOf(v.signingKey); err != nil || got != v.publicKey {
				t.Fatalf("PublicKeyOf = %q, %v; want %q", got, err, v.publicKey)
			}
			h := http.Header{}
			h.Set(HeaderID, specID)
			h.Set(HeaderTimestamp, "1614265330")
			h.Set(HeaderSignature, "v1,"+strings.Repeat("A", 44)+" "+v.sig)
			for _, k := range []string{v.publicKey, v.signingKey} {
				if err := Verify(k, h, []byte(specBody), specTime, time.Minute); err != nil {
					t.Fatalf("Verify with %.10s…: %v", k, err)
				}
			}
		})
	}
}

// TestSetHeadersEd25519Independently signs with a whsec_ secret and a
// signing key at once, then checks both signatures with crypto/ed25519
// and crypto/hmac alone, reading the header by hand, and with the
// receivers' package.
func TestSetHeadersEd25519Independently(t *testing.T) {
	sk, err := NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSigningKey()
	if sk == other || !strings.HasPrefix(sk, SigningKeyPrefix) {
		t.Fatalf("signing keys %q %q", sk, other)
	}
	priv, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sk, "whsk_"))
	if err != nil || len(priv) != ed25519.PrivateKeySize {
		t.Fatalf("a signing key holds %d bytes, %v", len(priv), err)
	}
	pk, err := PublicKeyOf(sk)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pk, "whpk_"))
	if err != nil || !strings.HasPrefix(pk, PublicKeyPrefix) || !bytes.Equal(pub, priv[32:]) {
		t.Fatalf("public key %q of %q: %v", pk, sk, err)
	}
	secret, _ := NewSecret()

	body := []byte(`{"type":"invoice.processed","timestamp":"2026-11-29T02:00:00Z","data":{"id":"x"}}`)
	now := time.Now()
	h := http.Header{}
	if err := SetHeaders(h, "msg_ed", now, body, secret, sk); err != nil {
		t.Fatal(err)
	}
	sigs := strings.Split(h.Get("webhook-signature"), " ")
	if len(sigs) != 2 || !strings.HasPrefix(sigs[0], "v1,") || !strings.HasPrefix(sigs[1], "v1a,") {
		t.Fatalf("webhook-signature %q", h.Get("webhook-signature"))
	}
	content := []byte("msg_ed." + h.Get("webhook-timestamp") + "." + string(body))
	sig, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sigs[1], "v1a,"))
	if err != nil || !ed25519.Verify(ed25519.PublicKey(pub), content, sig) {
		t.Fatalf("crypto/ed25519 refuses %q: %v", sigs[1], err)
	}
	hk, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, hk)
	mac.Write(content)
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); sigs[0] != want {
		t.Fatalf("v1 signature %q, want %q", sigs[0], want)
	}

	for _, k := range []string{pk, sk, secret} {
		if err := Verify(k, h, body, now, time.Minute); err != nil {
			t.Fatalf("Verify with %.10s…: %v", k, err)
		}
	}
	if ev, err := clientwebhook.Verify(pk, h, body, time.Minute); err != nil || ev.ID != "msg_ed" {
		t.Fatalf("client Verify with the public key: %+v, %v", ev, err)
	}
	v, err := clientwebhook.NewVerifier(time.Minute, other, pk)
	if err == nil || !errors.Is(err, clientwebhook.ErrInvalidSecret) {
		t.Fatalf("client NewVerifier took a whsk_ private key: %v", err)
	}
	otherPK, _ := PublicKeyOf(other)
	if v, err = clientwebhook.NewVerifier(time.Minute, otherPK, pk); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(h, body); err != nil {
		t.Fatalf("client Verifier with the old and the new public key: %v", err)
	}
}

// TestVerifyEd25519Refuses changes what a v1a signature covers, and keys
// and versions that do not go together.
func TestVerifyEd25519Refuses(t *testing.T) {
	sk, _ := NewSigningKey()
	pk, _ := PublicKeyOf(sk)
	other, _ := NewSigningKey()
	otherPK, _ := PublicKeyOf(other)
	secret, _ := NewSecret()
	body := []byte(specBody)
	now := specTime.Add(time.Minute)
	good := func() http.Header {
		h := http.Header{}
		if err := SetHeaders(h, specID, specTime, body, sk); err != nil {
			t.Fatal(err)
		}
		return h
	}
	v1 := http.Header{}
	if err := SetHeaders(v1, specID, specTime, body, secret); err != nil {
		t.Fatal(err)
	}
	sig := good().Get(HeaderSignature)
	tests := []struct {
		name string
		key  string
		edit func(http.Header)
		body string
	}{
		{"changed body", pk, nil, specBody + " "},
		{"changed id", pk, func(h http.Header) { h.Set(HeaderID, specID+"x") }, specBody},
		{"changed timestamp", pk, func(h http.Header) { h.Set(HeaderTimestamp, "1614265331") }, specBody},
		{"other key", otherPK, nil, specBody},
		{"other signing key", other, nil, specBody},
		{"v1a to a whsec_ secret", secret, nil, specBody},
		{"v1 to a public key", pk, func(h http.Header) { h.Set(HeaderSignature, v1.Get(HeaderSignature)) }, specBody},
		{"v1a relabelled v1", pk, func(h http.Header) { h.Set(HeaderSignature, strings.Replace(sig, "v1a,", "v1,", 1)) }, specBody},
		{"v1 relabelled v1a", pk, func(h http.Header) {
			h.Set(HeaderSignature, strings.Replace(v1.Get(HeaderSignature), "v1,", "v1a,", 1))
		}, specBody},
		{"signature unpadded", pk, func(h http.Header) { h.Set(HeaderSignature, strings.TrimRight(sig, "=")) }, specBody},
		{"signature cut", pk, func(h http.Header) { h.Set(HeaderSignature, sig[:len(sig)-4]) }, specBody},
		{"no version", pk, func(h http.Header) { h.Set(HeaderSignature, strings.TrimPrefix(sig, "v1a,")) }, specBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good()
			if tt.edit != nil {
				tt.edit(h)
			}
			if err := Verify(tt.key, h, []byte(tt.body), now, 5*time.Minute); !errors.Is(err, ErrVerify) {
				t.Fatalf("Verify = %v, want ErrVerify", err)
			}
		})
	}
	if err := Verify(pk, good(), body, specTime.Add(10*time.Minute), 5*time.Minute); !errors.Is(err, ErrVerify) {
		t.Fatalf("too old: %v", err)
	}
}

// TestMalformedKeys refuses every key that is not one of the forms.
func TestMalformedKeys(t *testing.T) {
	sk := ed25519Vectors[0].signingKey
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sk, "whsk_"))
	enc := base64.StdEncoding.EncodeToString
	mismatched := bytes.Clone(raw)
	mismatched[40] ^= 1
	badSigning := []string{
		"whsk_", "whsk_!!!", "whsk_" + enc(raw[:31]), "whsk_" + enc(raw[:33]), "whsk_" + enc(raw[:63]),
		"whsk_" + enc(append(bytes.Clone(raw), 0)), "whsk_" + enc(mismatched), strings.TrimRight(sk, "="),
		sk[:30] + "\n" + sk[30:], sk + " ", "whsk_" + base64.URLEncoding.EncodeToString(raw),
		"whsk_" + strings.Repeat("A", 1<<16), strings.Replace(sk, "Kvg==", "Kvh==", 1), // stray padding bits
	}
	pk := ed25519Vectors[0].publicKey
	pub, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(pk, "whpk_"))
	badPublic := []string{
		"whpk_", "whpk_%%", "whpk_" + enc(pub[:31]), "whpk_" + enc(append(bytes.Clone(pub), 1)),
		strings.TrimRight(pk, "="), strings.Replace(pk, "r4=", "r5=", 1), pk + "\n", "whpk_" + enc(raw),
	}
	for _, k := range badSigning {
		if _, err := Sign(k, specID, specTime, nil); !errors.Is(err, ErrBadKey) {
			t.Errorf("Sign with %q: %v", k, err)
		}
		if _, err := PublicKeyOf(k); !errors.Is(err, ErrBadKey) {
			t.Errorf("PublicKeyOf %q: %v", k, err)
		}
	}
	h := http.Header{}
	if err := SetHeaders(h, specID, specTime, []byte(specBody), ed25519Vectors[1].signingKey); err != nil {
		t.Fatal(err)
	}
	for _, k := range append(badSigning, badPublic...) {
		if err := Verify(k, h, []byte(specBody), specTime, time.Minute); !errors.Is(err, ErrBadKey) {
			t.Errorf("Verify with %q: %v", k, err)
		}
	}
	for _, k := range []string{pk, SecretPrefix + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		if _, err := PublicKeyOf(k); !errors.Is(err, ErrBadKey) {
			t.Errorf("PublicKeyOf %q: %v", k, err)
		}
	}
	if _, err := Sign(pk, specID, specTime, nil); !errors.Is(err, ErrBadKey) {
		t.Errorf("Sign with a public key: %v", err)
	}
	before := h.Clone()
	if err := SetHeaders(h, "other", specTime, nil, ed25519Vectors[0].signingKey, badSigning[1]); !errors.Is(err, ErrBadKey) {
		t.Errorf("SetHeaders with a bad key among good ones: %v", err)
	}
	if h.Get(HeaderSignature) != before.Get(HeaderSignature) || h.Get(HeaderID) != before.Get(HeaderID) {
		t.Errorf("SetHeaders changed the headers and failed")
	}
}

// FuzzSignKeys signs with any key. It never panics, fails only with
// ErrBadSecret or ErrBadKey, and a v1a signature it makes verifies with
// crypto/ed25519 under the public key PublicKeyOf returns.
func FuzzSignKeys(f *testing.F) {
	for _, v := range ed25519Vectors {
		f.Add(v.signingKey)
		f.Add(v.publicKey)
	}
	f.Add(specSecret)
	f.Add("whsk_")
	f.Add("whsk_AAAA")
	f.Add("whpk_==")
	f.Fuzz(func(t *testing.T, key string) {
		sig, err := Sign(key, specID, specTime, []byte(specBody))
		if err != nil {
			if !errors.Is(err, ErrBadSecret) && !errors.Is(err, ErrBadKey) {
				t.Fatalf("Sign with %q: an error of no known kind: %v", key, err)
			}
			return
		}
		if !strings.HasPrefix(key, "whsk_") {
			if !strings.HasPrefix(sig, "v1,") {
				t.Fatalf("Sign with %q = %q", key, sig)
			}
			return
		}
		pk, err := PublicKeyOf(key)
		if err != nil {
			t.Fatalf("PublicKeyOf %q after signing: %v", key, err)
		}
		pub, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pk, "whpk_"))
		if err != nil || len(pub) != ed25519.PublicKeySize {
			t.Fatalf("PublicKeyOf %q = %q", key, pk)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "v1a,"))
		if !strings.HasPrefix(sig, "v1a,") || err != nil ||
			!ed25519.Verify(ed25519.PublicKey(pub), []byte(specID+".1614265330."+specBody), raw) {
			t.Fatalf("Sign with %q = %q, which crypto/ed25519 refuses", key, sig)
		}
	})
}
