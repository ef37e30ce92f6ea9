package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

type dockerInstruction struct {
	Cmd, Args string
}

// dockerStages returns the Dockerfile's stages, each starting with its FROM.
func dockerStages(t testing.TB) [][]dockerInstruction {
	t.Helper()
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]dockerInstruction
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := dockerInstruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	if len(stages) < 2 {
		t.Fatalf("%s has %d stages, want a build stage and a final one", dockerfilePath, len(stages))
	}
	return stages
}

// dockerfileEnv returns the environment the final stage sets (ENV K=V ...).
func dockerfileEnv(t testing.TB) map[string]string {
	t.Helper()
	stages := dockerStages(t)
	env := map[string]string{}
	for _, in := range stages[len(stages)-1] {
		if in.Cmd != "ENV" {
			continue
		}
		for _, kv := range strings.Fields(in.Args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.ContainsAny(v, `"'$`) {
				t.Fatalf("ENV %s: write plain KEY=VALUE pairs", in.Args)
			}
			env[k] = v
		}
	}
	return env
}

// parseDeployed runs the command line and environment of every compose
// service built from the Dockerfile through config.ParseServe, as the
// container's /invoiced would: the image's ENV under the service's
// environment, and never this machine's. Container paths that are bind
// mounts are read at their source here.
func TestDockerfileFinalStage(t *testing.T) {
	stages := dockerStages(t)
	final := stages[len(stages)-1]
	last := map[string]string{}
	for _, in := range final {
		last[in.Cmd] = in.Args
	}
	from := final[0].Args
	if !strings.HasPrefix(from, "gcr.io/distroless/static") && from != "scratch" {
		t.Errorf("final stage FROM %s: want distroless/static or scratch", from)
	}
	user, _, _ := strings.Cut(last["USER"], ":")
	if uid, err := strconv.Atoi(user); err != nil || uid == 0 {
		t.Errorf("USER %q: want a numeric non-root user", last["USER"])
	}
	env := dockerfileEnv(t)
	for _, tt := range []struct{ cmd, want string }{
		{"ENTRYPOINT", `["/invoiced"]`},
		{"CMD", `["serve"]`},
		{"EXPOSE", "8080"},
		{"VOLUME", `["` + env["INVOICED_DATA"] + `"]`},
	} {
		if got := last[tt.cmd]; got != tt.want {
			t.Errorf("%s %s, want %s", tt.cmd, got, tt.want)
		}
	}
	if env["INVOICED_DATA"] != "/data" {
		t.Errorf("INVOICED_DATA %q: the embedded store belongs on the /data volume", env["INVOICED_DATA"])
	}
}

var ldflagsRE = regexp.MustCompile(`-ldflags "([^"]*)"`)

// TestDockerfileStampsTheVersion builds the binary with the Dockerfile's own
// build flags and checks that `version` reports what VERSION said.
func TestDockerfileStampsTheVersion(t *testing.T) {
	stages := dockerStages(t)
	var build string
	argVersion := false
	for _, in := range stages[0] {
		if in.Cmd == "ARG" && in.Args == "VERSION=dev" {
			argVersion = true
		}
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			build = in.Args
		}
	}
	if !argVersion {
		t.Error("the build stage has no ARG VERSION=dev")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build step has no %s: %s", want, build)
		}
	}
	m := ldflagsRE.FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("no -ldflags in the go build step: %s", build)
	}
	if !strings.Contains(m[1], "-X "+versionVar+"=${VERSION}") {
		t.Fatalf("-ldflags %q does not set %s from VERSION", m[1], versionVar)
	}
	const version = "v9.9.9-test"
	ldflags := strings.ReplaceAll(m[1], "${VERSION}", version)

	// Only the link flags: -trimpath and CGO_ENABLED=0 do not touch the
	// stamp, and leaving them out reuses what TestMain's build compiled.
	bin := filepath.Join(t.TempDir(), "invoiced")
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags %q: %v\n%s", ldflags, err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	if got, want := string(out), "invoiced "+version+"\n"; got != want {
		t.Fatalf("version printed %q, want %q", got, want)
	}
}
