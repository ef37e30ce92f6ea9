package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher publishes one message; jetstream.JetStream is one.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// FloorHandler is the least a POST /invoices can do: decode the same body
// and publish it once to JetStream with a Nats-Msg-Id, under subject
// prefix. What the service reaches is measured against it.
func FloorHandler(js Publisher, prefix string) http.Handler {
	var seq atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		var v map[string]any
		if err != nil || json.Unmarshal(data, &v) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		msg := &nats.Msg{Subject: fmt.Sprintf("%s.%d", prefix, seq.Add(1)), Data: data}
		if _, err := js.PublishMsg(r.Context(), msg, jetstream.WithMsgID(r.Header.Get("Idempotency-Key"))); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"` + r.Header.Get("Idempotency-Key") + `"}`))
	})
}
