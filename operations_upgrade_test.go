package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/faults"
)

// The all-in-one upgrade of docs/OPERATIONS.md, "Upgrades": stop the
// service, replace the binary, start it on the same data directory.

// upgradeFrom is the release the upgrade starts from: the last one before
// the account was in invoice events' subjects.
const upgradeFrom = "76c51eb"

// buildRelease builds invoiced as it was at commit, from this repository's
// history, or skips the test when the history does not hold it (a shallow
// clone).
func buildRelease(t *testing.T, commit string) string {
	t.Helper()
	if err := exec.Command("git", "cat-file", "-e", commit+"^{commit}").Run(); err != nil {
		t.Skipf("this clone's history does not hold %s (a shallow clone?): %v", commit, err)
	}
	src, tarball := t.TempDir(), filepath.Join(t.TempDir(), commit+".tar")
	for _, cmd := range []*exec.Cmd{
		exec.Command("git", "archive", "--format=tar", "--output="+tarball, commit),
		exec.Command("tar", "-x", "-f", tarball, "-C", src),
	} {
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
		}
	}
	bin := filepath.Join(t.TempDir(), "invoiced-"+commit)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", commit, err, out)
	}
	return bin
}

// startRelease runs bin serve with args and waits until it serves and is
// ready.
func startRelease(t *testing.T, bin string, key string, args ...string) (*faults.Proc, opsAPI) {
	t.Helper()
	p := faults.StartProc(t, filepath.Base(bin), servingLine, bin, append([]string{"serve"}, args...)...)
	api := opsAPI{base: p.Base(), key: key}
	api.awaitReady(t)
	return p, api
}

// TestOperationsUpgradeAllInOne upgrades an all-in-one service from the
// release before the account was in subjects to this one, the documented
// way, with API keys of two accounts, delivered webhooks, and invoices the
// old release took but did not process. After the upgrade every invoice
// answers as it did, every Idempotency-Key replays, the invoices left
// unprocessed reach their outcome and their webhooks, and those webhooks
// verify with the secret the old release gave; each account still sees
// its own invoices alone.
func TestOperationsUpgradeAllInOne(t *testing.T) {
	old := buildRelease(t, upgradeFrom)
	dir := t.TempDir()
	data, keysFile := filepath.Join(dir, "data"), filepath.Join(dir, "api-keys")
	acmeKey, ownKey := "upgrade-acme-key-0123456789abcdef0123", "upgrade-own-key-0123456789abcdef01234"
	if err := os.WriteFile(keysFile, []byte(acmeKey+" account=acme\n"+ownKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := func(extra ...string) []string {
		// The events stay on INVOICES, so the new release meets them there
		// under the old subjects, not only in the history.
		return append([]string{"--addr", "127.0.0.1:0", "--data", data, "--nats-listen", "127.0.0.1:0",
			"--api-keys-file", keysFile, "--max-amount-cents", "10000", "--compact-after", "1h"}, extra...)
	}

	proc, acme := startRelease(t, old, acmeKey, args()...)
	own := opsAPI{base: acme.base, key: ownKey}
	hooks := startOpsReceiver(t)
	status, _, body := acme.do(t, http.MethodPost, "/webhooks/subscriptions", `{"url":"`+hooks.url+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", status, body)
	}
	hooks.setSecret(t, jsonField(t, body, "secret"))

	var settled []opsInvoice
	for i, api := range []opsAPI{acme, acme, acme, own, own} {
		amount := 1000 + i
		if i == 2 {
			amount = 50000 // fails for its amount
		}
		settled = append(settled, api.create(t, fmt.Sprintf("before-%d", i), amount))
	}
	for i := range settled {
		api := acme
		if i >= 3 {
			api = own
		}
		api.settle(t, &settled[i])
		if api != acme {
			continue // the subscription is acme's
		}
		waitFor(t, 30*time.Second, "both webhooks of "+settled[i].key, func() (bool, string) {
			types, _ := hooks.got(settled[i].id)
			return len(types) == 2, fmt.Sprintf("%q", types)
		})
	}
	if err := proc.Stop(syscall.SIGTERM, time.Minute); err != nil {
		t.Fatalf("stop %s: %v\n%s", upgradeFrom, err, proc.Logs())
	}

	// The old release again, without a processor: the invoices it takes now
	// wait, under the old subjects, for the new release to process them.
	proc, acme = startRelease(t, old, acmeKey, args("--roles", "api,dispatcher")...)
	var waiting []opsInvoice
	for i := range 3 {
		waiting = append(waiting, acme.create(t, fmt.Sprintf("waiting-%d", i), 2000+i))
	}
	if err := proc.Stop(syscall.SIGTERM, time.Minute); err != nil {
		t.Fatalf("stop %s: %v\n%s", upgradeFrom, err, proc.Logs())
	}

	// The upgrade: the same data directory, this release.
	_, acme = startRelease(t, binary, acmeKey, args()...)
	own = opsAPI{base: acme.base, key: ownKey}
	for i, inv := range settled {
		api := acme
		if i >= 3 {
			api = own
		}
		status, _, body := api.do(t, http.MethodGet, "/invoices/"+inv.id, "")
		if status != http.StatusOK || !sameJSON(body, inv.got) {
			t.Errorf("GET %s (%s): %d %s\nbefore the upgrade: %s", inv.id, inv.key, status, body, inv.got)
		}
		checkReplay(t, api, inv)
	}
	for i := range waiting {
		acme.settle(t, &waiting[i])
		if waiting[i].status != "processed" {
			t.Errorf("%s: %s after the upgrade, want processed", waiting[i].key, waiting[i].status)
		}
		checkReplay(t, acme, waiting[i])
		waitFor(t, 30*time.Second, "the webhooks of "+waiting[i].key, func() (bool, string) {
			types, unverified := hooks.got(waiting[i].id)
			return slices.Contains(types, "invoice.created") && slices.Contains(types, "invoice.processed") && unverified == 0,
				fmt.Sprintf("accepted %q, %d did not verify", types, unverified)
		})
	}
	if _, unverified := hooks.got(""); unverified > 0 {
		t.Errorf("%d webhooks did not verify with the secret the old release gave", unverified)
	}
	after := acme.create(t, "after", 3000)
	acme.settle(t, &after)

	want := map[string][]string{}
	for i, inv := range append(slices.Clone(settled), append(waiting, after)...) {
		account := "acme"
		if i >= 3 && i < len(settled) {
			account = "own"
		}
		want[account] = append(want[account], inv.id)
	}
	for account, api := range map[string]opsAPI{"acme": acme, "own": own} {
		got := api.invoiceIDs(t)
		slices.Sort(got)
		slices.Sort(want[account])
		if !slices.Equal(got, want[account]) {
			t.Errorf("%s lists %q, want %q", account, got, want[account])
		}
	}
}
