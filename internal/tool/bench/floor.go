package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/nats-io/nats-server/v2/server"
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

// MeasureFloor drives load at the floor: a bare HTTP handler that decodes
// the body and publishes it once with a Nats-Msg-Id, on a JetStream server
// with the same settings (embedded, unless --nats-url names one). It
// returns what the load did and every request the floor acknowledged, and
// fails when the floor cannot be set up.
func MeasureFloor(ctx context.Context, cfg config.Bench, load loaddriver.Config) (loaddriver.Stats, []loaddriver.Ack, error) {
	var srv *server.Server
	if cfg.NATSURL == "" {
		dir, err := os.MkdirTemp("", "invoiced-floor")
		if err != nil {
			return loaddriver.Stats{}, nil, err
		}
		defer os.RemoveAll(dir)
		if srv, err = broker.StartEmbedded(broker.Embedded{StoreDir: dir, Listen: broker.ListenOff, SyncAlways: cfg.Fsync == config.FsyncAlways}); err != nil {
			return loaddriver.Stats{}, nil, err
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	}
	nc, err := broker.Connect(cfg.NATSURL, srv, "invoiced-bench-floor", nil, broker.Auth{})
	if err != nil {
		return loaddriver.Stats{}, nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return loaddriver.Stats{}, nil, err
	}
	const stream = "INVOICED_BENCH_FLOOR"
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"bench.floor.>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}); err != nil {
		return loaddriver.Stats{}, nil, err
	}
	defer func() { _ = js.DeleteStream(context.Background(), stream) }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return loaddriver.Stats{}, nil, err
	}
	hs := &http.Server{Handler: FloorHandler(js, "bench.floor"), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	load.Bases, load.APIKey = []string{"http://" + ln.Addr().String()}, ""
	load.KeyPrefix = "floor-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return loaddriver.Run(ctx, load)
}
