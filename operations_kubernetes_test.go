package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/invoiced/invoiced/internal/testing/faults"
)

// deploy/kubernetes/invoiced.yaml, held to what invoiced serves: no
// cluster runs in CI, so the test parses the manifest, checks what ties it
// to invoiced and the image, runs its init container's command on real
// files and starts invoiced with the container's arguments.

const kubernetesPath = "deploy/kubernetes/invoiced.yaml"

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		// Service
		Ports []struct {
			Name       string `yaml:"name"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
		// StatefulSet
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsUser  *int `yaml:"runAsUser"`
		RunAsGroup *int `yaml:"runAsGroup"`
	} `yaml:"securityContext"`
	InitContainers []k8sContainer `yaml:"initContainers"`
	Containers     []k8sContainer `yaml:"containers"`
	Volumes        []struct {
		Name   string `yaml:"name"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
		EmptyDir any `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe   *k8sProbe `yaml:"startupProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

func readKubernetes(tb testing.TB) (service, statefulSet k8sObject) {
	tb.Helper()
	f, err := os.Open(kubernetesPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var kinds []string
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", kubernetesPath, err)
		}
		kinds = append(kinds, o.Kind)
		switch o.Kind {
		case "Service":
			service = o
		case "StatefulSet":
			statefulSet = o
		}
	}
	if !slices.Equal(kinds, []string{"Service", "StatefulSet"}) {
		tb.Fatalf("%s holds %q, want a Service and a StatefulSet", kubernetesPath, kinds)
	}
	return service, statefulSet
}

// flagValue returns the value args give flag (as --flag=value or --flag
// value), and whether they give one.
func flagValue(args []string, flag string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+flag+"="); ok {
			return v, true
		}
		if a == "--"+flag && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// probePort returns the port number a probe names, directly or by the
// name of one of c's ports.
func probePort(tb testing.TB, c k8sContainer, port any) int {
	tb.Helper()
	switch p := port.(type) {
	case string:
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort
			}
		}
		tb.Errorf("a probe names port %q, which the container does not declare", p)
	case uint64:
		return int(p)
	case int64:
		return int(p)
	case int:
		return p
	default:
		tb.Errorf("a probe's port is %T %v", port, port)
	}
	return 0
}

// TestOperationsKubernetesManifest checks the all-in-one StatefulSet: one
// replica; --data on a volume claimed per pod; probes on the paths
// invoiced serves for liveness and readiness, at the port --addr listens
// on, on every interface; a grace period longer than a graceful stop; the
// image's user; a Go memory limit below the container's. Then it runs the
// init container's command on the secrets docs/OPERATIONS.md makes, as
// Kubernetes mounts them, starts invoiced with the container's arguments
// (only the addresses changed, to free loopback ones) and the files the
// command made, and requires each probe's path to answer 200.
func TestOperationsKubernetesManifest(t *testing.T) {
	service, set := readKubernetes(t)
	flags := serveFlags(t)
	pod := set.Spec.Template.Spec
	if r := set.Spec.Replicas; r == nil || *r != 1 {
		t.Errorf("replicas %s: the embedded JetStream server is one node on one volume, so exactly 1", optional(r))
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want invoiced alone", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q: want invoiced serve", c.Args)
	}

	addr, ok := flagValue(c.Args, "addr")
	if !ok {
		addr = flags["addr"].def
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("--addr %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		t.Errorf("--addr %s: the kubelet probes the pod's address, so listen on every interface (0.0.0.0)", addr)
	}
	port, _ := strconv.Atoi(portText)
	for _, p := range []struct {
		name, path string
		probe      *k8sProbe
	}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}, {"startup", "/healthz", c.StartupProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe on %s, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if got := probePort(t, c, p.probe.HTTPGet.Port); got != port {
			t.Errorf("%s probe on port %d; --addr listens on %d", p.name, got, port)
		}
	}
	for _, sp := range service.Spec.Ports {
		if got := probePort(t, c, sp.TargetPort); got != port {
			t.Errorf("the Service sends port %s to %d; --addr listens on %d", sp.Name, got, port)
		}
	}

	data, _ := flagValue(c.Args, "data")
	claimed := false
	for _, m := range c.VolumeMounts {
		for _, claim := range set.Spec.VolumeClaimTemplates {
			claimed = claimed || (m.MountPath == data && m.Name == claim.Metadata.Name)
		}
	}
	if !claimed {
		t.Errorf("--data %q is not on a volume the StatefulSet claims: the embedded JetStream store would not survive the pod", data)
	}
	grace := defaultDuration(t, flags, "shutdown-timeout")
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < grace+10*time.Second {
		t.Errorf("terminationGracePeriodSeconds %s: want 10s more than --shutdown-timeout's %s", optional(g), grace)
	}
	if user := dockerfileUser(t); optional(pod.SecurityContext.RunAsUser) != user {
		t.Errorf("runAsUser %s; the image runs as %s", optional(pod.SecurityContext.RunAsUser), user)
	}
	limit := quantityBytes(t, c.Resources.Limits["memory"])
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" && quantityBytes(t, e.Value) >= limit {
			t.Errorf("GOMEMLIMIT %s is not below the memory limit %s", e.Value, c.Resources.Limits["memory"])
		}
	}
	if t.Failed() {
		return
	}

	// The volumes, as directories, each holding what Kubernetes would.
	secrets := docSecrets(t)
	root := t.TempDir()
	dirs := map[string]string{}
	for _, v := range pod.Volumes {
		dirs[v.Name] = filepath.Join(root, v.Name)
		if err := os.Mkdir(dirs[v.Name], 0o770); err != nil {
			t.Fatal(err)
		}
		if v.Secret != nil {
			writeSecret(t, v.Secret.SecretName, dirs[v.Name], secrets)
		}
	}
	for _, claim := range set.Spec.VolumeClaimTemplates {
		dirs[claim.Metadata.Name] = filepath.Join(root, claim.Metadata.Name)
		if err := os.Mkdir(dirs[claim.Metadata.Name], 0o770); err != nil {
			t.Fatal(err)
		}
	}
	for _, init := range pod.InitContainers {
		if len(init.Command) < 3 || init.Command[0] != "sh" || init.Command[1] != "-c" {
			t.Fatalf("init container %s runs %q; the test runs sh -c commands", init.Name, init.Command)
		}
		script := mountedPaths(t, init, dirs).Replace(init.Command[2])
		if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
			t.Fatalf("init container %s: %s: %v\n%s", init.Name, script, err, out)
		}
	}
	paths := mountedPaths(t, c, dirs)
	args := []string{}
	for _, a := range c.Args {
		if name, _, ok := strings.Cut(a, "="); ok && (name == "--addr" || name == "--nats-listen") {
			continue
		}
		args = append(args, paths.Replace(a))
	}
	args = append(args, "--addr=127.0.0.1:0", "--nats-listen=127.0.0.1:0")
	for _, e := range c.Env {
		t.Setenv(e.Name, e.Value)
	}
	p := faults.StartProc(t, "invoiced", servingLine, binary, args...)
	for _, path := range []string{"/healthz", "/readyz"} {
		waitFor(t, 60*time.Second, path+" 200", func() (bool, string) {
			res, err := http.Get(p.Base() + path)
			if err != nil {
				return false, err.Error()
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return res.StatusCode == http.StatusOK, fmt.Sprintf("%d %s\n%s", res.StatusCode, body, p.Logs())
		})
	}
	if err := p.Stop(os.Interrupt, time.Minute); err != nil {
		t.Errorf("stop: %v\n%s", err, p.Logs())
	}
}

// servingLine matches invoiced's "serving" log line in either log format;
// its group is the API's base URL.
var servingLine = regexp.MustCompile(`"?msg"?[=:]"invoiced serving".*"?addr"?[=:]"?(http://[^"\s]+)`)
