package app

import (
	"context"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/invoiced/invoiced/internal/bench"
	"github.com/invoiced/invoiced/internal/broker"
	"github.com/invoiced/invoiced/internal/config"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// measureFloor drives load at the floor: a bare HTTP handler that decodes
// the body and publishes it once with a Nats-Msg-Id, on a JetStream server
// with the same settings (embedded, unless --nats-url names one).
func measureFloor(ctx context.Context, cfg config.Bench, load bench.Load) (bench.Result, error) {
	var srv *server.Server
	if cfg.NATSURL == "" {
		dir, err := os.MkdirTemp("", "invoiced-floor")
		if err != nil {
			return bench.Result{}, err
		}
		defer os.RemoveAll(dir)
		if srv, err = broker.StartEmbedded(broker.Embedded{StoreDir: dir, Listen: broker.ListenOff, SyncAlways: cfg.Fsync == config.FsyncAlways}); err != nil {
			return bench.Result{}, err
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	}
	nc, err := broker.Connect(cfg.NATSURL, srv, "invoiced-bench-floor", nil, broker.Auth{})
	if err != nil {
		return bench.Result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return bench.Result{}, err
	}
	const stream = "INVOICED_BENCH_FLOOR"
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"bench.floor.>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}); err != nil {
		return bench.Result{}, err
	}
	defer func() { _ = js.DeleteStream(context.Background(), stream) }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return bench.Result{}, err
	}
	hs := &http.Server{Handler: bench.FloorHandler(js, "bench.floor"), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	load.URL, load.APIKey = "http://"+ln.Addr().String(), ""
	load.KeyPrefix = "floor-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return bench.Drive(ctx, bench.NewClient(load.Concurrency), load), nil
}
