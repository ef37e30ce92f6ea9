package main

import (
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/config"
)

// dockerInstruction is one instruction of a Dockerfile, continuation lines
// joined and comments dropped.
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

// TestDockerfileFinalStage checks the image the Dockerfile ends with: a
// static base, a numeric user other than root, /invoiced serve as what it
// runs, port 8080, and the embedded store on the /data volume.
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

// dockerUser returns the uid the final stage runs as.
func dockerUser(t testing.TB) int {
	t.Helper()
	stages := dockerStages(t)
	user := ""
	for _, in := range stages[len(stages)-1] {
		if in.Cmd == "USER" {
			user, _, _ = strings.Cut(in.Args, ":")
		}
	}
	uid, err := strconv.Atoi(user)
	if err != nil {
		t.Fatalf("USER %q: want a numeric user", user)
	}
	return uid
}

// dockerHealthcheck returns the final stage's HEALTHCHECK: its options
// and its command, which must be in exec form.
func dockerHealthcheck(t testing.TB) (map[string]string, []string) {
	t.Helper()
	stages := dockerStages(t)
	var args string
	for _, in := range stages[len(stages)-1] {
		if in.Cmd == "HEALTHCHECK" {
			args = in.Args
		}
	}
	options, cmd, ok := strings.Cut(args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %q: want HEALTHCHECK [options] CMD [...]", args)
	}
	var argv []string
	if err := json.Unmarshal([]byte(cmd), &argv); err != nil {
		t.Fatalf("HEALTHCHECK CMD %s: want the exec form, a JSON array (the image has no shell): %v", cmd, err)
	}
	opts := map[string]string{}
	for _, o := range strings.Fields(options) {
		k, v, _ := strings.Cut(strings.TrimPrefix(o, "--"), "=")
		opts[k] = v
	}
	return opts, argv
}

// TestDockerfileChecksServeIsReady runs the image's HEALTHCHECK command
// line through invoiced's flag parser with the image's environment: it is
// invoiced healthcheck, asking /readyz where serve listens by default.
func TestDockerfileChecksServeIsReady(t *testing.T) {
	opts, argv := dockerHealthcheck(t)
	stages := dockerStages(t)
	var entrypoint []string
	for _, in := range stages[len(stages)-1] {
		if in.Cmd == "ENTRYPOINT" {
			_ = json.Unmarshal([]byte(in.Args), &entrypoint)
		}
	}
	if len(argv) < 2 || len(entrypoint) != 1 || argv[0] != entrypoint[0] || argv[1] != "healthcheck" {
		t.Fatalf("HEALTHCHECK runs %q, want %s healthcheck", argv, entrypoint)
	}
	env := dockerfileEnv(t)
	getenv := func(k string) string { return env[k] }
	h, err := config.ParseHealthcheck(argv[2:], getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	serve, err := config.ParseServe(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checkReachesServe(t, h, serve)
	timeout, err := time.ParseDuration(opts["timeout"])
	if err != nil || timeout < h.Timeout {
		t.Errorf("HEALTHCHECK --timeout=%s: want at least invoiced healthcheck's own %s", opts["timeout"], h.Timeout)
	}
	if _, err := time.ParseDuration(opts["start-period"]); err != nil {
		t.Errorf("HEALTHCHECK --start-period=%q: a start that waits for NATS is not yet a failure", opts["start-period"])
	}
}

// checkReachesServe fails the test unless h asks /readyz on loopback at
// the port serve listens on.
func checkReachesServe(t testing.TB, h config.Healthcheck, serve config.Serve) {
	t.Helper()
	u, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(serve.Addr)
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() || u.Port() != port || u.Path != "/readyz" {
		t.Errorf("the healthcheck asks %s, but serve listens on %s: want /readyz on loopback at port %s", h.URL, serve.Addr, port)
	}
}

// TestAPIKeysFileIsReadableByTheImagesUser checks the keys file each api
// service mounts, as it is on this machine, against the image's user, and
// that the docs name that user.
func TestAPIKeysFileIsReadableByTheImagesUser(t *testing.T) {
	uid := dockerUser(t)
	files := map[string]bool{}
	for _, p := range parseDeployed(t, readCompose(t)) {
		if p.cfg.APIKeysFile != "" {
			files[p.cfg.APIKeysFile] = true
		}
	}
	if len(files) == 0 {
		t.Fatal("no api service mounts a keys file")
	}
	for file := range files {
		info, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		perm := info.Mode().Perm()
		owner := -1
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			owner = int(st.Uid)
		}
		if perm&0o004 == 0 && (owner != uid || perm&0o400 == 0) {
			t.Errorf("%s (mode %04o, owner %d) cannot be read by the container's user %d: chown %d it, or make it readable by others",
				file, perm, owner, uid, uid)
		}
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), "uid "+strconv.Itoa(uid)) {
			t.Errorf("%s does not say the container's user, uid %d, must read it", file, uid)
		}
	}
	security, err := os.ReadFile("docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(security), "uid "+strconv.Itoa(uid)) || !strings.Contains(string(security), "deploy/api-keys") {
		t.Errorf("docs/SECURITY.md does not say that deploy/api-keys must be readable by the image's uid %d", uid)
	}
}
