package main

import (
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

type natsNode struct {
	service string
	conf    string // on this machine
	opts    *server.Options
	volume  string // the named volume at the store dir
}

func TestNATSConfigsFormAJetStreamCluster(t *testing.T) {
	c := readCompose(t)
	nodes := map[string]natsNode{}
	for _, tt := range []struct {
		service, conf string
	}{
		{"n1", "deploy/nats/n1.conf"},
		{"n2", "deploy/nats/n2.conf"},
		{"n3", "deploy/nats/n3.conf"},
	} {
		t.Run(tt.service, func(t *testing.T) {
			nodes[tt.service] = checkNATSNode(t, c, tt.service, tt.conf)
		})
	}
	if t.Failed() {
		return
	}

	clusterName := nodes["n1"].opts.Cluster.Name
	serverNames, volumes := map[string]bool{}, map[string]bool{}
	for _, svc := range natsNodes {
		n := nodes[svc]
		t.Run(svc+" in the cluster", func(t *testing.T) {
			if n.opts.Cluster.Name != clusterName {
				t.Errorf("cluster %q, n1's is %q", n.opts.Cluster.Name, clusterName)
			}
			if serverNames[n.opts.ServerName] {
				t.Errorf("server_name %q is another node's", n.opts.ServerName)
			}
			serverNames[n.opts.ServerName] = true
			if volumes[n.volume] {
				t.Errorf("volume %s is another node's store", n.volume)
			}
			volumes[n.volume] = true
			var want, got []string
			for _, other := range natsNodes {
				if other != svc {
					want = append(want, net.JoinHostPort(other, strconv.Itoa(nodes[other].opts.Cluster.Port)))
				}
			}
			for _, r := range n.opts.Routes {
				got = append(got, r.Host)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("routes to %v, want the other two nodes' cluster ports %v", got, want)
			}
		})
	}
}

// checkNATSNode checks one node: its compose service mounts conf read-only
// where its command reads it, and conf, as nats-server parses it, runs
// JetStream with every write synced, on a named volume, in a cluster.
func checkNATSNode(t testing.TB, c composeFile, service, conf string) natsNode {
	t.Helper()
	svc, ok := c.Services[service]
	if !ok {
		t.Fatalf("no service %s", service)
	}
	if !strings.HasPrefix(svc.Image, "nats:2.15") {
		t.Errorf("image %q: want the official nats image, 2.15 like go.mod's nats-server", svc.Image)
	}
	mounts := composeMounts(t, svc)
	target := configFlag(t, composeStrings(t, svc.Command))
	m, ok := mountAt(mounts, target)
	if !ok || !m.bind() || filepath.Clean(hostFile(m)) != filepath.FromSlash(conf) {
		t.Fatalf("--config %s is not %s mounted", target, conf)
	}
	if !m.ReadOnly {
		t.Errorf("%s is mounted writable: add :ro", conf)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("nats-server refuses %s: %v", conf, err)
	}
	switch {
	case !opts.JetStream:
		t.Error("JetStream is off")
	case !opts.SyncAlways:
		t.Error("JetStream does not sync every write (sync_interval: always)")
	case opts.StoreDir == "":
		t.Error("no JetStream store_dir")
	case opts.ServerName == "":
		t.Error("no server_name: JetStream clusters need one a node")
	case opts.Cluster.Name == "" || opts.Cluster.Port == 0:
		t.Error("no cluster name or cluster port")
	case opts.Port != 4222:
		t.Errorf("clients on port %d; the --nats-url of every invoiced service says 4222", opts.Port)
	}
	store, ok := mountAt(mounts, opts.StoreDir)
	if !ok || store.bind() {
		t.Fatalf("the store %s is not a named volume", opts.StoreDir)
	}
	if _, ok := c.Volumes[store.Source]; !ok {
		t.Errorf("volume %s is not declared", store.Source)
	}
	if svc.Healthcheck == nil {
		t.Error("no healthcheck: invoiced services wait for a healthy cluster")
	}
	return natsNode{service: service, conf: conf, opts: opts, volume: store.Source}
}

// configFlag returns the config file a nats-server command line names.
func configFlag(t testing.TB, args []string) string {
	t.Helper()
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v
		}
		if (a == "--config" || a == "-c") && i+1 < len(args) {
			return args[i+1]
		}
	}
	t.Fatalf("command %q names no --config", args)
	return ""
}
