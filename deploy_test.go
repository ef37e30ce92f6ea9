package main

// No container engine runs in CI, so these tests keep Dockerfile and
// docker-compose.yml true by other means: every invoiced command line in the
// compose file goes through invoiced's own flag parser, the NATS configs
// through nats-server's, and the Dockerfile's -ldflags into a real build.

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/invoiced/invoiced/internal/infra/config"
)

const (
	composePath    = "docker-compose.yml"
	dockerfilePath = "Dockerfile"
	// receiverService is the demo webhook receiver; receiverURL is the
	// subscription URL the compose file's comment gives for it.
	receiverService = "receiver"
	receiverURL     = "http://receiver:8080/webhook"
	// versionVar is the variable the build stamps (internal/infra/config.Version).
	versionVar = "github.com/invoiced/invoiced/internal/infra/config.Version"
)

// natsNodes are the compose services of the NATS cluster.
var natsNodes = []string{"n1", "n2", "n3"}

// composeFile is the part of the compose file these tests read. Decoding
// is strict, as compose's own schema check is: a misspelt key fails here.
// Volumes, ports and networks are read in their short syntax only.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Networks map[string]composeNetwork `yaml:"networks"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Build           any                          `yaml:"build"`
	Image           string                       `yaml:"image"`
	Command         any                          `yaml:"command"`
	Environment     any                          `yaml:"environment"`
	Volumes         []string                     `yaml:"volumes"`
	Ports           []string                     `yaml:"ports"`
	Networks        []string                     `yaml:"networks"`
	DependsOn       map[string]composeDependency `yaml:"depends_on"`
	Restart         string                       `yaml:"restart"`
	StopGracePeriod string                       `yaml:"stop_grace_period"`
	Healthcheck     *composeHealthcheck          `yaml:"healthcheck"`
}

// composeHealthcheck is a service's healthcheck; nil or disabled, the
// image's HEALTHCHECK applies or none.
type composeHealthcheck struct {
	Test        any    `yaml:"test"`
	Interval    string `yaml:"interval"`
	Timeout     string `yaml:"timeout"`
	Retries     int    `yaml:"retries"`
	StartPeriod string `yaml:"start_period"`
	Disable     bool   `yaml:"disable"`
}

// checked reports whether the healthcheck runs.
func (h *composeHealthcheck) checked() bool { return h != nil && !h.Disable }

type composeDependency struct {
	Condition string `yaml:"condition"`
}

type composeNetwork struct {
	IPAM struct {
		Config []struct {
			Subnet string `yaml:"subnet"`
		} `yaml:"config"`
	} `yaml:"ipam"`
}

// composeMount is a volume in short syntax: a bind mount when Source is a
// path, a named volume otherwise.
type composeMount struct {
	Source, Target string
	ReadOnly       bool
}

func (m composeMount) bind() bool {
	return strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "/")
}

// deployedProcess is one invoiced service of the compose file, its flags
// parsed as invoiced parses them.
type deployedProcess struct {
	name string
	svc  composeService
	cfg  config.Serve
}

func readCompose(t testing.TB) composeFile {
	t.Helper()
	data, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict(), yaml.AllowFieldPrefixes("x-")); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	return c
}

// composeHeader returns the comment block at the top of the compose file.
func composeHeader(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for line := range strings.Lines(string(data)) {
		if !strings.HasPrefix(line, "#") {
			break
		}
		b.WriteString(line)
	}
	return b.String()
}

// composeStrings reads a command or a list of strings: a YAML sequence, or
// a string split on blanks (compose splits it as a shell would; the file
// should not need quoting).
func composeStrings(t testing.TB, v any) []string {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if strings.ContainsAny(v, `"'\`) {
			t.Fatalf("command %q needs shell quoting: write it as a list", v)
		}
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				t.Fatalf("%v (%T) in a command: quote it", e, e)
			}
			out = append(out, s)
		}
		return out
	}
	t.Fatalf("cannot read %T as a list of strings", v)
	return nil
}

// composeEnv reads environment: a mapping or a list of KEY=VALUE.
func composeEnv(t testing.TB, v any) map[string]string {
	t.Helper()
	env := map[string]string{}
	switch v := v.(type) {
	case nil:
	case map[string]any:
		for k, val := range v {
			env[k] = fmt.Sprint(val)
		}
	case []any:
		for _, e := range v {
			k, val, ok := strings.Cut(fmt.Sprint(e), "=")
			if !ok {
				t.Fatalf("environment entry %q has no value", e)
			}
			env[k] = val
		}
	default:
		t.Fatalf("cannot read %T as environment", v)
	}
	for k, val := range env {
		if strings.Contains(val, "$") {
			t.Fatalf("environment %s=%q: interpolation is not checked here", k, val)
		}
	}
	return env
}

func composeMounts(t testing.TB, svc composeService) []composeMount {
	t.Helper()
	var out []composeMount
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		switch {
		case len(parts) == 2:
			out = append(out, composeMount{Source: parts[0], Target: parts[1]})
		case len(parts) == 3 && parts[2] == "ro":
			out = append(out, composeMount{Source: parts[0], Target: parts[1], ReadOnly: true})
		default:
			t.Fatalf("volume %q: want SOURCE:TARGET[:ro]", v)
		}
	}
	return out
}

// mountAt returns the mount whose target is path.
func mountAt(svc []composeMount, path string) (composeMount, bool) {
	i := slices.IndexFunc(svc, func(m composeMount) bool { return m.Target == path })
	if i < 0 {
		return composeMount{}, false
	}
	return svc[i], true
}

// hostFile returns the file on this machine that a bind mount's source
// names, relative to the compose file.
func hostFile(m composeMount) string {
	return filepath.FromSlash(m.Source)
}

// composePort is a published port in short syntax.
type composePort struct {
	HostIP              string
	HostPort, Container int
}

func composePorts(t testing.TB, svc composeService) []composePort {
	t.Helper()
	var out []composePort
	for _, p := range svc.Ports {
		parts := strings.Split(p, ":")
		if len(parts) != 3 {
			t.Fatalf("port %q: want HOST_IP:HOST_PORT:CONTAINER_PORT, bound to an address on purpose", p)
		}
		host, err1 := strconv.Atoi(parts[1])
		container, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("port %q: want numbers", p)
		}
		out = append(out, composePort{HostIP: parts[0], HostPort: host, Container: container})
	}
	return out
}

// parseDeployed runs the command line and environment of every compose
// service built from the Dockerfile through config.ParseServe, as the
// container's /invoiced would: the image's ENV under the service's
// environment, and never this machine's. Container paths that are bind
// mounts are read at their source here.
func parseDeployed(t testing.TB, c composeFile) []deployedProcess {
	t.Helper()
	base := dockerfileEnv(t)
	var out []deployedProcess
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		svc := c.Services[name]
		if svc.Build == nil {
			continue
		}
		args := composeStrings(t, svc.Command)
		switch {
		case len(args) == 0:
			args = []string{"serve"} // the image's CMD
		case args[0] == "secrets":
			continue // a one-shot step, not a process of the deployment
		case args[0] != "serve":
			t.Fatalf("%s: command %q does not run invoiced serve", name, args)
		}
		mounts := composeMounts(t, svc)
		args = slices.Clone(args[1:])
		for i, a := range args {
			flagName, value, isFlag := strings.Cut(a, "=")
			if !isFlag {
				flagName, value = "", a
			}
			if m, ok := mountAt(mounts, value); ok && m.bind() {
				if flagName != "" {
					args[i] = flagName + "=" + hostFile(m)
				} else {
					args[i] = hostFile(m)
				}
			}
		}
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range composeEnv(t, svc.Environment) {
			env[k] = v
		}
		cfg, err := config.ParseServe(args, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("%s: invoiced serve %s: %v", name, strings.Join(args, " "), err)
		}
		out = append(out, deployedProcess{name: name, svc: svc, cfg: cfg})
	}
	return out
}
