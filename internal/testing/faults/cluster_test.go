package faults_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/testing/faults"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
)

// TestClusterNodeAndRoleFailures runs invoiced as two processes of each
// role against a three-node JetStream cluster, streams R3 with fsync
// always, and under load kills with SIGKILL the node leading INVOICES
// (restarting it later), then one processor and one dispatcher for good:
// nothing acknowledged is lost or doubled, every webhook arrives, the
// surviving processes are ready again and the restarted node catches up.
func TestClusterNodeAndRoleFailures(t *testing.T) {
	c := faults.StartCluster(t, natsServerBin)
	started := map[string]*faults.Proc{}
	dumpOnFailure(t, c, started)
	secrets := filepath.Join(t.TempDir(), "secrets.key") // every api and dispatcher seals and opens with it
	if _, err := seal.CreateKeyFile(secrets); err != nil {
		t.Fatal(err)
	}
	start := func(role string, n int) *faults.Proc {
		name := fmt.Sprintf("%s-%d", role, n)
		started[name] = faults.StartProc(t, name, faults.Serving, invoicedBin,
			"serve", "--roles", role, "--nats-url", c.URLs(), "--replicas", "3", "--addr", "127.0.0.1:0", "--data", t.TempDir(),
			"--secrets-key-file", secrets,
			"--webhook-retry-schedule", fastSchedule, "--webhook-timeout", "2s", "--webhook-allow-private")
		return started[name]
	}
	apis := []*faults.Proc{start("api", 1)} // creates the streams
	apis = append(apis, start("api", 2))
	processors := []*faults.Proc{start("processor", 1), start("processor", 2)}
	dispatchers := []*faults.Proc{start("dispatcher", 1), start("dispatcher", 2)}
	recv := startReceiver(t, webhookrecv.Config{})
	sub := subscribe(t, apis[0].Base(), recv)
	load := startLoad(t, loaddriver.Config{Bases: []string{apis[0].Base(), apis[1].Base()}, Concurrency: 6, Next: faults.Invoices(10, 0)})
	awaitAcks(t, load, 50, time.Minute)

	leader := killLeader(t, c, load, "INVOICES")
	more(t, load, 50)
	c.Restart(leader)
	t.Logf("node %d restarted", leader+1)

	time.Sleep(rand.N(300 * time.Millisecond)) // the kill's moment, at random
	for _, p := range []*faults.Proc{processors[0], dispatchers[0]} {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := load.Acked()
	t.Logf("processor-1 and dispatcher-1 killed after %d acknowledged", n)
	more(t, load, 50)

	check(t, faults.Target{Base: apis[1].Base(), NATSURL: c.URLs(), Subscribers: []faults.Subscriber{sub}, Faults: 3}, load)
	awaitReady(t, apis[0], apis[1], processors[1], dispatchers[1])
	awaitCaughtUp(t, c)
}

// killLeader kills the node leading stream once it has one and returns its
// index, logging how long the load then went without an acknowledgement.
func killLeader(t *testing.T, c *faults.Cluster, load *loaddriver.Load, stream string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var leader int
	err := pollUntil(ctx, func() (err error) { leader, err = c.Leader(ctx, stream); return err })
	if err != nil {
		t.Fatalf("no leader for %s: %v", stream, err)
	}
	time.Sleep(rand.N(300 * time.Millisecond)) // the kill's moment, at random
	before, _ := load.Acked()
	killed := time.Now()
	c.Kill(leader)
	t.Logf("node %d, leader of %s, killed after %d acknowledged", leader+1, stream, before)
	first, stall := ackGaps(t, load, killed, before+30)
	t.Logf("after the leader kill: first acknowledgement %s later; longest stall until 30 more: %s",
		first.Round(time.Millisecond), stall.Round(time.Millisecond))
	return leader
}

// ackGaps waits until the load has n acknowledgements and returns how long
// after t0 the first one after t0 came, and the longest time without one
// from t0 on, to the 10ms the polling sees.
func ackGaps(t *testing.T, load *loaddriver.Load, t0 time.Time, n int) (first, stall time.Duration) {
	t.Helper()
	prev, deadline := t0, t0.Add(time.Minute)
	for {
		got, last := load.Acked()
		if last.After(prev) {
			if first == 0 {
				first = last.Sub(t0)
			}
			stall, prev = max(stall, last.Sub(prev)), last
		}
		if got >= n {
			return first, stall
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged a minute after the kill, want %d; load: %+v", got, n, load.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// more waits for n more acknowledgements.
func more(t *testing.T, load *loaddriver.Load, n int) {
	t.Helper()
	before, _ := load.Acked()
	awaitAcks(t, load, before+n, time.Minute)
}

// awaitReady fails the test unless every process answers /readyz with 200
// within 30 seconds.
func awaitReady(t *testing.T, procs ...*faults.Proc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, p := range procs {
		err := pollUntil(ctx, func() error {
			res, err := client.Get(p.Base() + "/readyz")
			if err != nil {
				return err
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("/readyz answered %s", res.Status)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s not ready: %v\n%s", p.Base(), err, p.Logs())
		}
	}
}

// awaitCaughtUp fails the test unless every stream invoiced created,
// INVOICES, WEBHOOKS and the buckets' among them, has every replica
// current within two minutes.
func awaitCaughtUp(t *testing.T, c *faults.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	names, err := c.StreamNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"INVOICES", "WEBHOOKS", "KV_webhook_subscriptions", "KV_webhook_deliveries"} {
		if !slices.Contains(names, want) {
			t.Errorf("stream %s missing; the cluster has %v", want, names)
		}
	}
	for _, name := range names { // --replicas 3 reaches every stream and bucket
		if n, err := c.Replicas(ctx, name); err != nil || n != faults.ClusterSize {
			t.Errorf("stream %s: %d replicas (%v), want %d", name, n, err, faults.ClusterSize)
		}
	}
	began := time.Now()
	if err := c.AwaitCurrent(ctx, names...); err != nil {
		t.Fatal(err)
	}
	t.Logf("streams %v current %s after the checks", names, time.Since(began).Round(time.Millisecond))
}

// dumpOnFailure logs the end of every node's log, and of every process's in
// procs by name, when the test fails.
func dumpOnFailure(t *testing.T, c *faults.Cluster, procs map[string]*faults.Proc) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i := range faults.ClusterSize {
			t.Logf("node %d:\n%s", i+1, tail(c.Logs(i), 60))
		}
		for _, name := range slices.Sorted(maps.Keys(procs)) {
			t.Logf("%s:\n%s", name, tail(procs[name].Logs(), 60))
		}
	})
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// pollUntil calls try every 100ms until it succeeds or ctx ends, and
// returns its last error.
func pollUntil(ctx context.Context, try func() error) error {
	for {
		err := try()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
