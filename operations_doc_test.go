package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The backup and restore procedures of docs/OPERATIONS.md, run as the
// document shows them: TestOperationsBackupAndRestore backs up a live
// all-in-one service under load with the nats CLI, restores into a fresh
// data directory with nats-server, starts the service there and checks
// what it answers; TestOperationsDocShowsBackupAndRestore holds the
// document to the scripts below.

// operationsDoc is the guide whose procedures these tests run.
const operationsDoc = "docs/OPERATIONS.md"

// The document's sections that hold the procedures: each heading is
// followed by one sh block.
const (
	toolsHeading    = "### Tools"
	settingsHeading = "### Settings"
	backupHeading   = "### Back up, online"
	restoreHeading  = "### Restore into a fresh data directory"
	growthHeading   = "### Where to look"
)

// backupScript is the backup as docs/OPERATIONS.md shows it, line by line.
var backupScript = []string{
	`set -eu`,
	`install -d -m 0700 "$BACKUP" "$KEYS"`,
	`segments=$(nats stream ls --names | grep '^HISTORY_' | sort)`,
	`test -n "$segments"`,
	`for s in $segments; do nats backup stream "$s" "$BACKUP/$s" --no-consumers --no-progress; done`,
	`for s in INVOICES KV_webhook_deliveries WEBHOOKS KV_webhook_subscriptions; do nats backup stream "$s" "$BACKUP/$s" --no-consumers --no-progress; done`,
	`test "$(nats stream ls --names | grep '^HISTORY_' | sort)" = "$segments"`,
	`install -m 0600 "$SECRETS_KEY_FILE" "$KEYS/secrets.key"`,
	`test ! -e "$DATA/nats-user.nk" || install -m 0600 "$DATA/nats-user.nk" "$KEYS/nats-user.nk"`,
}

// restoreScript is the restore as docs/OPERATIONS.md shows it.
var restoreScript = []string{
	`set -eu`,
	`unset NATS_NKEY`,
	`test ! -e "$DATA/jetstream"`,
	`install -d -m 0750 "$DATA"`,
	`install -m 0600 "$KEYS/secrets.key" "$SECRETS_KEY_FILE"`,
	`test ! -e "$KEYS/nats-user.nk" || install -m 0600 "$KEYS/nats-user.nk" "$DATA/nats-user.nk"`,
	`nats-server --jetstream --store_dir "$DATA" --addr 127.0.0.1 --port "$RESTORE_PORT" & server=$!`,
	`until nats --server "nats://127.0.0.1:$RESTORE_PORT" account info >/dev/null 2>&1; do kill -0 "$server"; sleep 0.2; done`,
	`for b in "$BACKUP"/*/; do nats --server "nats://127.0.0.1:$RESTORE_PORT" backup restore stream "$b" --no-progress; done`,
	`kill "$server"; wait "$server"`,
	`invoiced rebuild --data "$DATA"`,
}

// growthRecipes are the commands docs/OPERATIONS.md gives to see what
// takes room, each run on its own.
var growthRecipes = []string{
	`nats stream ls`,
	`nats stream ls --all`,
	`du -sh "$DATA/jetstream" "$DATA"/readmodel.db*`,
}

// scriptSettings are the variables the document's settings block sets and
// the scripts read; the test sets each of them.
var scriptSettings = []string{"DATA", "SECRETS_KEY_FILE", "BACKUP", "KEYS", "NATS_URL", "NATS_NKEY", "RESTORE_PORT"}

// natsServerModule is the module of the nats-server the restore runs: the
// one invoiced embeds, at the version go.mod names.
const natsServerModule = "github.com/nats-io/nats-server/v2"

// TestOperationsDocShowsBackupAndRestore checks that docs/OPERATIONS.md
// shows exactly the scripts TestOperationsBackupAndRestore runs, sets
// exactly the variables it sets, and installs the tools it runs them with.
func TestOperationsDocShowsBackupAndRestore(t *testing.T) {
	doc := readOperationsDoc(t)
	checkScript(t, "backup", operationsBlock(t, doc, backupHeading), backupScript)
	checkScript(t, "restore", operationsBlock(t, doc, restoreHeading), restoreScript)
	checkScript(t, "where to look", operationsBlock(t, doc, growthHeading), growthRecipes)

	var set []string
	for _, line := range operationsBlock(t, doc, settingsHeading) {
		for _, assignment := range strings.Fields(strings.TrimPrefix(line, "export ")) {
			if name, _, ok := strings.Cut(assignment, "="); ok && regexp.MustCompile(`^[A-Z_]+$`).MatchString(name) {
				set = append(set, name)
			}
		}
	}
	slices.Sort(set)
	want := slices.Sorted(slices.Values(scriptSettings))
	if !slices.Equal(set, want) {
		t.Errorf("%s's settings set %q; the scripts read %q", operationsDoc, set, want)
	}

	tools := operationsBlock(t, doc, toolsHeading)
	for _, install := range []string{"go install " + natscliModule, "go install " + natsServerModule + "@" + natsServerVersion(t)} {
		if !slices.Contains(tools, install) {
			t.Errorf("%s's tools do not show %q: %q", operationsDoc, install, tools)
		}
	}
}

// checkScript reports every difference between the lines a document block
// shows and a script.
func checkScript(tb testing.TB, name string, shown, script []string) {
	tb.Helper()
	if !slices.Equal(shown, script) {
		tb.Errorf("%s shows this %s script:\n  %s\nthe test runs:\n  %s", operationsDoc, name,
			strings.Join(shown, "\n  "), strings.Join(script, "\n  "))
	}
}

func readOperationsDoc(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile(operationsDoc)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// operationsBlock returns the lines of the first sh block after heading in doc,
// each with its comment cut and its blanks trimmed, blank lines left out.
func operationsBlock(tb testing.TB, doc, heading string) []string {
	tb.Helper()
	_, section, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		tb.Fatalf("%s has no %q section", operationsDoc, heading)
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		tb.Fatalf("%s: no sh block after %q", operationsDoc, heading)
	}
	if next := strings.Index(section, "\n#"); next >= 0 && next < strings.Index(section, "```sh\n") {
		tb.Fatalf("%s: %q has no sh block of its own", operationsDoc, heading)
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		tb.Fatalf("%s: the sh block after %q does not end", operationsDoc, heading)
	}
	var lines []string
	for _, line := range strings.Split(block, "\n") {
		if line = strings.TrimSpace(stripComment(line)); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// natsServerVersion returns the version of nats-server this build embeds.
func natsServerVersion(tb testing.TB) string {
	tb.Helper()
	info, ok := debug.ReadBuildInfo()
	if ok {
		for _, dep := range info.Deps {
			if dep.Path == natsServerModule {
				return dep.Version
			}
		}
	}
	tb.Fatalf("no %s in the build information", natsServerModule)
	return ""
}

var natsServerBinary struct {
	once sync.Once
	path string
	how  string
	err  error
}

// newNATSServer returns a nats-server of the release invoiced embeds: the
// one on PATH if it is that release, else one built once per test run from
// the module go.mod names.
func newNATSServer(tb testing.TB) string {
	tb.Helper()
	version := natsServerVersion(tb)
	b := &natsServerBinary
	b.once.Do(func() { b.path, b.how, b.err = obtainNATSServer(version) })
	if b.err != nil {
		tb.Fatalf("cannot obtain nats-server %s: %v", version, b.err)
	}
	tb.Logf("nats-server %s: %s", version, b.how)
	return b.path
}

func obtainNATSServer(version string) (path, how string, err error) {
	var notes []string
	if p, err := exec.LookPath("nats-server"); err == nil {
		out, err := exec.Command(p, "--version").CombinedOutput()
		if got := strings.TrimSpace(string(out)); err == nil && got == "nats-server: "+version {
			return p, "found on PATH at " + p, nil
		}
		notes = append(notes, fmt.Sprintf("%s on PATH says %q (%v)", p, strings.TrimSpace(string(out)), err))
	}
	// TestMain removes the directory of the invoiced binary when the run ends.
	p := filepath.Join(filepath.Dir(binary), "natsserver", "nats-server")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", p, natsServerModule).CombinedOutput(); err != nil {
		notes = append(notes, fmt.Sprintf("go build %s: %v\n%s", natsServerModule, err, out))
		return "", "", errors.New(strings.Join(notes, "; "))
	}
	notes = append(notes, fmt.Sprintf("built from go.mod's module in %s", time.Since(start).Round(100*time.Millisecond)))
	return p, strings.Join(notes, "; "), nil
}

// opsScripts runs the document's scripts with sh, the nats CLI, nats-server
// and invoiced first on PATH, and no NATS setting of the caller.
type opsScripts struct {
	dir string // working directory
	env []string
}

func newOpsScripts(t *testing.T) *opsScripts {
	t.Helper()
	cli := newNATSCLI(t)
	bin := t.TempDir()
	for name, target := range map[string]string{"nats": cli.bin, "nats-server": newNATSServer(t), "invoiced": binary} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	s := &opsScripts{dir: t.TempDir()}
	for _, kv := range cli.env {
		if !strings.HasPrefix(kv, "PATH=") {
			s.env = append(s.env, kv)
		}
	}
	s.env = append(s.env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return s
}

// run runs script with the settings in vars and returns what it printed.
// It fails the test when the script fails or takes more than five
// minutes; whatever the script left running in its process group is
// killed when it ends.
func (s *opsScripts) run(t *testing.T, name string, script []string, vars map[string]string) string {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", strings.Join(script, "\n"))
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.dir, out, out
	cmd.Env = slices.Clone(s.env)
	for _, k := range scriptSettings {
		if v, ok := vars[k]; ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // only what the script started
	}
	printed, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		t.Fatalf("%s script: %v\n%s", name, runErr, printed)
	}
	return string(printed)
}
