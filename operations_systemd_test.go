package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// deploy/systemd/invoiced.service and its environment file, held to what
// systemd accepts (systemd-analyze, where it is installed) and to the
// flags invoiced has.

const (
	systemdUnitPath = "deploy/systemd/invoiced.service"
	systemdEnvPath  = "deploy/systemd/invoiced.env"
	// installedBinary is where the unit runs invoiced from.
	installedBinary = "/usr/local/bin/invoiced"
	// maxExposure is the highest overall exposure systemd-analyze security
	// may rate the unit (0 is locked down, 10 is unprotected; 2 and below
	// it calls OK).
	maxExposure = 2.0
)

// serveFlag is one flag of invoiced serve as its help lists it.
type serveFlag struct{ env, def string }

var helpFlag = regexp.MustCompile(`(?m)^\s*--([a-z0-9-]+) \((?:env (INVOICED_[A-Z0-9_]+)|no env), default (.*)\)$`)

// serveFlags returns every flag `invoiced serve --help` lists, by name.
func serveFlags(tb testing.TB) map[string]serveFlag {
	tb.Helper()
	out, _ := exec.Command(binary, "serve", "--help").CombinedOutput()
	flags := map[string]serveFlag{}
	for _, m := range helpFlag.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = serveFlag{env: m[2], def: m[3]}
	}
	for _, name := range []string{"addr", "data", "shutdown-timeout"} {
		if _, ok := flags[name]; !ok {
			tb.Fatalf("invoiced serve --help lists no --%s in the form --name (env VAR, default value):\n%s", name, out)
		}
	}
	return flags
}

// defaultDuration returns the default of a duration flag of serve.
func defaultDuration(tb testing.TB, flags map[string]serveFlag, name string) time.Duration {
	tb.Helper()
	d, err := time.ParseDuration(flags[name].def)
	if err != nil {
		tb.Fatalf("--%s's default %q: %v", name, flags[name].def, err)
	}
	return d
}

// unitFile is a systemd unit file: each section's settings, in order.
type unitFile map[string][][2]string

func readUnit(tb testing.TB, path string) unitFile {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	u := unitFile{}
	section := ""
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				tb.Fatalf("%s: %q is no setting", path, line)
			}
			u[section] = append(u[section], [2]string{k, v})
		}
	}
	return u
}

// get returns the last value of key in section, as systemd takes it.
func (u unitFile) get(section, key string) string {
	v := ""
	for _, kv := range u[section] {
		if kv[0] == key {
			v = kv[1]
		}
	}
	return v
}

// TestOperationsSystemdUnit checks the unit against invoiced: it runs
// invoiced serve on the state directory, stops later than a graceful
// shutdown may take, restarts on failure, runs as a user of its own and
// without privileges; and every INVOICED_ setting its environment file
// names, set or commented out, is a flag of serve. Then, where
// systemd-analyze is installed, systemd verifies the unit and rates its
// exposure.
func TestOperationsSystemdUnit(t *testing.T) {
	u := readUnit(t, systemdUnitPath)
	flags := serveFlags(t)

	start := u.get("Service", "ExecStart")
	state := u.get("Service", "StateDirectory")
	if want := installedBinary + " serve --data %S/" + state; state == "" || strings.Join(strings.Fields(start), " ") != want {
		t.Errorf("ExecStart=%s, StateDirectory=%s; want ExecStart=%s and a state directory", start, state, want)
	}
	stop, err := time.ParseDuration(u.get("Service", "TimeoutStopSec"))
	if graceful := defaultDuration(t, flags, "shutdown-timeout"); err != nil || stop < graceful+10*time.Second {
		t.Errorf("TimeoutStopSec=%s (%v): want 10s more than --shutdown-timeout's %s, so a stop is graceful", u.get("Service", "TimeoutStopSec"), err, graceful)
	}
	for key, want := range map[string]string{
		"Restart": "on-failure", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "CapabilityBoundingSet": "", "ExecReload": "/bin/kill -HUP $MAINPID",
	} {
		if got := u.get("Service", key); got != want {
			t.Errorf("%s=%s, want %s=%s", key, got, key, want)
		}
	}
	if u.get("Service", "User") == "" || u.get("Service", "User") == "root" {
		t.Errorf("User=%q: the service needs a user of its own", u.get("Service", "User"))
	}
	envFile := strings.TrimPrefix(u.get("Service", "EnvironmentFile"), "-")
	if envFile != "/etc/invoiced/invoiced.env" {
		t.Errorf("EnvironmentFile=%s, want /etc/invoiced/invoiced.env, where docs/OPERATIONS.md installs %s", envFile, systemdEnvPath)
	}
	checkEnvFile(t, systemdEnvPath, flags)

	analyze, err := exec.LookPath("systemd-analyze")
	switch {
	case err != nil && os.Getenv("INVOICED_REQUIRE_SYSTEMD_ANALYZE") != "":
		t.Fatal("INVOICED_REQUIRE_SYSTEMD_ANALYZE is set and there is no systemd-analyze on PATH")
	case err != nil:
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd); the unit was checked against invoiced's flags only")
	}
	// verify requires the program ExecStart names to exist: check a copy
	// that runs the binary under test, the unit otherwise as it is.
	original, err := os.ReadFile(systemdUnitPath)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), filepath.Base(systemdUnitPath))
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(original), installedBinary, binary)), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 on an unknown key or a value it ignores, and says so:
	// anything it prints is a failure.
	out, err := execOutput(analyze, "verify", "--man=no", copyPath)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", systemdUnitPath, err, out)
	}
	out, err = execOutput(analyze, "security", "--offline=yes", copyPath)
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if exposure, _ := strconv.ParseFloat(m[1], 64); exposure > maxExposure {
		t.Errorf("systemd-analyze security rates the unit's exposure %s, above %.1f:\n%s", m[1], maxExposure, out)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
}

// execOutput runs a command and returns what it printed on either output.
func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// checkEnvFile checks that every INVOICED_ variable an environment file
// sets or shows commented out is one of serve's flags, and that it does
// not set --data, which the unit owns.
func checkEnvFile(tb testing.TB, path string, flags map[string]serveFlag) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	known := map[string]bool{}
	for _, fl := range flags {
		known[fl.env] = true
	}
	setting := regexp.MustCompile(`^#?\s*([A-Z][A-Z0-9_]*)=`)
	named := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := setting.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil || !strings.HasPrefix(m[1], "INVOICED_") {
			continue
		}
		named++
		switch {
		case !known[m[1]]:
			tb.Errorf("%s names %s, which sets no flag of invoiced serve", path, m[1])
		case m[1] == flags["data"].env:
			tb.Errorf("%s names %s: the unit sets --data to its state directory", path, m[1])
		}
	}
	if named == 0 {
		tb.Errorf("%s names no INVOICED_ setting", path)
	}
}
