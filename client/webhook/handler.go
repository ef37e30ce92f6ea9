package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// MaxBodyBytes is the largest delivery body Handler reads; the service's
// are far smaller.
const MaxBodyBytes = 1 << 20

// Handler returns an http.Handler that verifies each delivery with v and
// passes its event to fn. It answers 204 when fn returns nil; 500 when fn
// fails, so that the service retries the delivery; 401 for a delivery that
// does not verify, 400 for a signed body that is not an event, 413 for a
// body over MaxBodyBytes and 405 for a method other than POST. It does not
// drop repeats: fn handles each Event.ID once. It panics if v or fn is nil.
func Handler(v *Verifier, fn func(ctx context.Context, ev Event) error) http.Handler {
	if v == nil || fn == nil {
		panic("webhook: Handler needs a Verifier and a function")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		ev, err := v.Verify(r.Header, body)
		switch {
		case errors.Is(err, ErrPayload):
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if err := fn(r.Context(), ev); err != nil {
			http.Error(w, "the event was not handled", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
