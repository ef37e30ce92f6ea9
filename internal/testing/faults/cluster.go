package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSReady matches nats-server's "Server is ready" log line, which it
// writes to standard error.
var NATSReady = regexp.MustCompile(`Server is ready`)

// ClusterSize is how many nodes a Cluster runs.
const ClusterSize = 3

// Cluster is a three-node JetStream cluster of nats-server processes, each
// with a config file and a store directory that outlive a restart. Nodes
// are numbered 0 to ClusterSize-1 and named n1 to n3.
type Cluster struct {
	tb    testing.TB
	bin   string
	names []string
	urls  []string
	confs []string
	procs []*Proc
	js    jetstream.JetStream
}

// StartCluster writes three node configs (fsync before every
// acknowledgement, routes to all three) into tb.TempDir(), starts a
// nats-server process from bin for each, and returns once JetStream answers
// through a client connection. The processes and the connection end with
// the test. It fails the test when a node does not start or JetStream is
// not usable within a minute.
func StartCluster(tb testing.TB, bin string) *Cluster {
	tb.Helper()
	c := &Cluster{tb: tb, bin: bin}
	dir := tb.TempDir()
	addrs := freeAddrs(tb, 2*ClusterSize)
	clients, routes := addrs[:ClusterSize], addrs[ClusterSize:]
	for i := range ClusterSize {
		name := fmt.Sprintf("n%d", i+1)
		conf, err := writeNodeConfig(dir, name, clients[i], routes[i], routes)
		if err != nil {
			tb.Fatal(err)
		}
		c.names, c.confs = append(c.names, name), append(c.confs, conf)
		c.urls = append(c.urls, "nats://"+clients[i])
	}
	for i := range ClusterSize {
		c.procs = append(c.procs, StartProc(tb, c.names[i], NATSReady, bin, "-c", c.confs[i]))
	}
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		tb.Fatalf("faults: connect to the cluster: %v", err)
	}
	tb.Cleanup(nc.Close)
	if c.js, err = jetstream.New(nc); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := poll(ctx, func(ctx context.Context) error { _, err := c.js.AccountInfo(ctx); return err }); err != nil {
		tb.Fatalf("faults: JetStream not usable on the cluster: %v", err)
	}
	return c
}

// freeAddrs returns n distinct loopback addresses from FreeAddr.
func freeAddrs(tb testing.TB, n int) []string {
	var addrs []string
	for len(addrs) < n {
		if a := FreeAddr(tb); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// writeNodeConfig writes node name's config into dir and returns its path.
func writeNodeConfig(dir, name, client, route string, routes []string) (string, error) {
	urls := make([]string, len(routes))
	for i, r := range routes {
		urls[i] = fmt.Sprintf("%q", "nats-route://"+r)
	}
	conf := fmt.Sprintf(`server_name: %s
listen: %q
jetstream {
  store_dir: %q
  sync_interval: always
}
cluster {
  name: invoiced-faults
  listen: %q
  routes: [%s]
}
`, name, client, filepath.Join(dir, name, "store"), route, strings.Join(urls, ", "))
	path := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return "", fmt.Errorf("faults: node %s config: %w", name, err)
	}
	return path, nil
}

// URLs returns the nodes' client URLs, comma-separated, as --nats-url and
// nats.Connect take them.
func (c *Cluster) URLs() string { return strings.Join(c.urls, ",") }

// Kill kills node i (0 to ClusterSize-1) with SIGKILL, as a crash would,
// and waits for it to exit. It fails the test when the signal cannot be
// sent.
func (c *Cluster) Kill(i int) {
	c.tb.Helper()
	if err := c.procs[i].Kill(); err != nil {
		c.tb.Fatal(err)
	}
}

// Restart starts node i again with the same config and store directory and
// returns once it logs that it is ready; catching up is AwaitCurrent's
// business. It fails the test when the node does not start.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	c.procs[i] = StartProc(c.tb, c.names[i], NATSReady, c.bin, "-c", c.confs[i])
}

// Logs returns everything node i has written since it last started.
func (c *Cluster) Logs(i int) string { return c.procs[i].Logs() }

// Leader returns the index of the node leading stream. It fails when the
// stream's info cannot be had, the stream has no leader, or the leader is
// not one of the nodes.
func (c *Cluster) Leader(ctx context.Context, stream string) (int, error) {
	info, err := c.js.Stream(ctx, stream)
	if err != nil {
		return -1, fmt.Errorf("faults: stream %s: %w", stream, err)
	}
	ci := info.CachedInfo().Cluster
	if ci == nil || ci.Leader == "" {
		return -1, fmt.Errorf("faults: stream %s has no leader", stream)
	}
	i := slices.Index(c.names, ci.Leader)
	if i < 0 {
		return -1, fmt.Errorf("faults: stream %s is led by %q, not a node of the cluster", stream, ci.Leader)
	}
	return i, nil
}

// StreamNames returns the names of every stream on the cluster, key-value
// buckets' streams included. It fails when JetStream does not list them.
func (c *Cluster) StreamNames(ctx context.Context) ([]string, error) {
	lister := c.js.StreamNames(ctx)
	var names []string
	for name := range lister.Name() {
		names = append(names, name)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("faults: stream names: %w", err)
	}
	return names, nil
}

// Replicas returns how many replicas stream is configured with. It fails
// when the stream cannot be read.
func (c *Cluster) Replicas(ctx context.Context, stream string) (int, error) {
	st, err := c.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("faults: stream %s: %w", stream, err)
	}
	return st.CachedInfo().Config.Replicas, nil
}

// AwaitCurrent polls until every stream named has a leader and every other
// replica online, current and without lag: a restarted node has caught up.
// It fails when ctx ends first, with what was last wrong.
func (c *Cluster) AwaitCurrent(ctx context.Context, streams ...string) error {
	for _, name := range streams {
		if err := poll(ctx, func(ctx context.Context) error { return c.current(ctx, name) }); err != nil {
			return fmt.Errorf("faults: stream %s not current: %w", name, err)
		}
	}
	return nil
}

// current reports what keeps stream's replicas from being current, if
// anything.
func (c *Cluster) current(ctx context.Context, stream string) error {
	st, err := c.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	info := st.CachedInfo()
	ci := info.Cluster
	if ci == nil || ci.Leader == "" {
		return errors.New("no leader")
	}
	if len(ci.Replicas) != info.Config.Replicas-1 {
		return fmt.Errorf("%d followers, want %d", len(ci.Replicas), info.Config.Replicas-1)
	}
	for _, p := range ci.Replicas {
		if !p.Current || p.Offline || p.Lag > 0 {
			return fmt.Errorf("replica %s: current %t, offline %t, lag %d", p.Name, p.Current, p.Offline, p.Lag)
		}
	}
	return nil
}

// poll calls try, each call given up to 2 seconds, every 100ms until it
// succeeds; it fails when ctx ends first, with try's last error.
func poll(ctx context.Context, try func(context.Context) error) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := try(attempt)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
