package listen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/client/webhook"
)

// refetchGap is the least time between two fetches of the public keys that
// a webhook's failure asks for, so forged webhooks cannot make the relay
// call the service at their pace.
const refetchGap = time.Second

// fetchTimeout bounds one fetch of the public keys.
const fetchTimeout = 10 * time.Second

// keyring verifies webhooks with what the relay's subscription signs with:
// its whsec_ secret, or its whpk_ public keys, which it fetches again when
// a webhook does not verify with those held, as after a rotation. It is
// safe for concurrent use.
type keyring struct {
	api     *client.Client
	subID   string
	ed25519 bool
	log     *lines // where public keys fetched anew are announced

	fetching sync.Mutex // one fetch at a time

	mu       sync.Mutex // guards what follows
	verifier *webhook.Verifier
	keys     []string  // the public keys held, newest first
	gen      int       // how many times the keys were fetched anew
	fetched  time.Time // when they last were
}

// newKeyring returns the keyring of sub as the service gave it, with its
// secret or its public keys, announcing keys fetched anew on log. It fails
// when sub has neither, or one is malformed.
func newKeyring(api *client.Client, sub *client.Subscription, log *lines) (*keyring, error) {
	k := &keyring{api: api, subID: sub.ID, ed25519: signingOf(sub) == client.SigningEd25519, log: log}
	keys := []string{sub.Secret}
	if k.ed25519 {
		keys = publicKeys(sub.PublicKeys)
	}
	v, err := webhook.NewVerifier(webhook.DefaultTolerance, keys...)
	if err != nil {
		return nil, fmt.Errorf("subscription %s: %w", sub.ID, err)
	}
	k.verifier, k.keys = v, keys
	return k, nil
}

// Verify checks one webhook as webhook.Verifier does and returns its event.
// When its signature matches none of the public keys held, it fetches them
// again (unless that was just done) and checks once more; it fails as
// webhook.Verifier does, saying so when that fetch failed.
func (k *keyring) Verify(ctx context.Context, header http.Header, body []byte) (webhook.Event, error) {
	v, gen := k.current()
	ev, err := v.Verify(header, body)
	if !k.ed25519 || !errors.Is(err, webhook.ErrSignature) {
		return ev, err
	}
	if ferr := k.refresh(ctx, gen); ferr != nil {
		return ev, fmt.Errorf("%w (fetching the public keys again: %v)", err, ferr)
	}
	if v2, _ := k.current(); v2 != v {
		return v2.Verify(header, body)
	}
	return ev, err
}

// current returns the verifier of the keys held and how many times they
// were fetched anew.
func (k *keyring) current() (*webhook.Verifier, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.verifier, k.gen
}

// refresh fetches the public keys again, unless another webhook did so
// since gen was read or one was fetched less than refetchGap ago, and
// announces them when they changed. It fails when the service refuses or
// gives no usable key.
func (k *keyring) refresh(ctx context.Context, gen int) error {
	k.fetching.Lock()
	defer k.fetching.Unlock()
	k.mu.Lock()
	skip := k.gen != gen || time.Since(k.fetched) < refetchGap
	k.mu.Unlock()
	if skip {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	got, err := k.api.GetSubscriptionPublicKeys(ctx, k.subID)
	k.mu.Lock()
	k.fetched = time.Now()
	k.mu.Unlock()
	if err != nil {
		return err
	}
	keys := publicKeys(got)
	v, err := webhook.NewVerifier(webhook.DefaultTolerance, keys...)
	if err != nil {
		return err
	}
	k.mu.Lock()
	changed := !slices.Equal(keys, k.keys)
	if changed {
		k.verifier, k.keys = v, keys
		k.gen++
	}
	k.mu.Unlock()
	if changed {
		_ = k.log.printf("%s  public keys of subscription %s fetched again (rotated): %s\n",
			time.Now().Format("15:04:05"), k.subID, describeKeys(got))
	}
	return nil
}

// signingOf returns how sub is signed; SigningHMAC when the service does
// not say.
func signingOf(sub *client.Subscription) client.Signing {
	if sub.Signing == "" {
		return client.SigningHMAC
	}
	return sub.Signing
}

// publicKeys returns the whpk_ keys of keys, in their order.
func publicKeys(keys []client.PublicKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Key
	}
	return out
}

// describeKeys returns keys as listen prints them: each key with its kid,
// and when it stops signing if it does.
func describeKeys(keys []client.PublicKey) string {
	if len(keys) == 0 {
		return "none"
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.Key + " (kid " + k.KeyID
		if !k.ExpiresAt.IsZero() {
			parts[i] += ", signs until " + k.ExpiresAt.UTC().Format(time.RFC3339)
		}
		parts[i] += ")"
	}
	return strings.Join(parts, ", ")
}

// credential returns what the start line says the relay verifies with: the
// secret of an hmac subscription, the public keys of an ed25519 one.
func credential(sub *client.Subscription) string {
	if signingOf(sub) == client.SigningEd25519 {
		return "public keys " + describeKeys(sub.PublicKeys)
	}
	return "signing secret " + sub.Secret
}

// lines writes whole lines to one writer, one call at a time.
type lines struct {
	mu sync.Mutex
	w  io.Writer
}

// printf writes what format makes of args; it fails when the writer does.
func (l *lines) printf(format string, args ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := fmt.Fprintf(l.w, format, args...)
	return err
}

// write writes p as it is; it fails when the writer does.
func (l *lines) write(p []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(p)
	return err
}
