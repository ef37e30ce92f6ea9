package main

import (
	"slices"
	"testing"
)

// The tests of docs/INSPECTING.md's "Look inside with `nats` and `sqlite3`" section.
// The nats binary and the recipes' form are in natscli_cli_test.go, the live
// service they run against in natscli_fixture_test.go, and what each group
// of recipes must show in natscli_inspect_test.go and
// natscli_replay_test.go.

// natscliVersion is the nats CLI the recipes of docs/INSPECTING.md are tested with.
const (
	natscliVersion = "v0.5.0"
	natscliModule  = "github.com/nats-io/natscli/nats@" + natscliVersion
)

// The recipes of docs/INSPECTING.md's "Look inside with `nats` and `sqlite3`"
// section, exactly as shown there (placeholders in angle brackets). The
// test runs each of them, and checks that the document shows these and no
// others.
const (
	recipeStreams         = `nats stream ls --all --json`
	recipeSubjects        = `nats stream subjects INVOICES --json`
	recipeHistorySubjects = `nats stream subjects <segment> --json`
	recipeHistory         = `nats sub 'invoices.<id>.>' --all -T --raw`
	recipeCurrent         = `nats stream get INVOICES --last-for 'invoices.<id>.>' --json`
	recipeAccount         = `nats sub 'invoices.*.*.<account>' --all -T --raw`
	recipeDeliveryKeys    = `nats kv ls webhook_deliveries`
	recipeDelivery        = `nats kv get webhook_deliveries <delivery id> --raw`
	recipeModelCounts     = `sqlite3 -readonly data/readmodel.db 'SELECT status, count(*) FROM invoices GROUP BY status'`
	recipeModelInvoice    = `sqlite3 -readonly data/readmodel.db "SELECT requested, outcome FROM invoices WHERE id = '<id>'"`
	recipeModelDelivery   = `sqlite3 -readonly data/readmodel.db "SELECT record FROM deliveries WHERE id = '<delivery id>'"`
	recipeProcessorLag    = `nats consumer info INVOICES processor --json`
	recipeFanoutLag       = `nats consumer info INVOICES dispatcher-fanout --json`
	recipeDispatcherLag   = `nats consumer info WEBHOOKS dispatcher --json`
	recipeHistoryLag      = `nats stream info <segment> --json`
	recipeNewestStored    = `nats stream get <segment> --last-for 'history.invoices.>' --json`
	recipeRebuildSince    = `nats consumer add <segment> rebuild --pull --deliver <duration> --filter 'history.invoices.>' --defaults`
	recipeRebuildFrom     = `nats consumer add <segment> rebuild --pull --deliver <sequence> --filter 'history.invoices.>' --defaults`
	recipeRebuildInfo     = `nats consumer info <segment> rebuild --json`
	recipeReplay          = `nats sub --stream <segment> --durable rebuild -T --raw`
	recipeRebuildRemove   = `nats consumer rm <segment> rebuild -f`
)

var natscliRecipes = []string{
	recipeStreams, recipeSubjects, recipeHistorySubjects, recipeHistory, recipeCurrent, recipeAccount,
	recipeDeliveryKeys, recipeDelivery,
	recipeModelCounts, recipeModelInvoice, recipeModelDelivery,
	recipeProcessorLag, recipeFanoutLag, recipeDispatcherLag, recipeHistoryLag,
	recipeNewestStored, recipeRebuildSince, recipeRebuildFrom, recipeRebuildInfo, recipeReplay, recipeRebuildRemove,
}

// TestDocsShowTheNATSCLIRecipes checks that docs/INSPECTING.md's nats CLI
// section shows exactly the recipes TestNATSCLIRecipes runs, and installs
// the version it runs them with.
func TestDocsShowTheNATSCLIRecipes(t *testing.T) {
	shown, install := docRecipes(t)
	if install != "go install "+natscliModule {
		t.Errorf("%s installs with %q, want %q", recipesDoc, install, "go install "+natscliModule)
	}
	checkSameRecipes(t, shown, recipesDoc+" shows a recipe that is not tested", recipesDoc+" does not show the tested recipe")
}

// TestNATSCLIRecipes runs docs/INSPECTING.md's nats CLI recipes, with natscli
// v0.5.0, against a live all-in-one service, and checks what they show.
func TestNATSCLIRecipes(t *testing.T) {
	s := startNATSCLIService(t)

	t.Run("streams", func(t *testing.T) { checkStreamList(t, s) })
	t.Run("subjects", func(t *testing.T) { checkSubjectCounts(t, s) })
	t.Run("history", func(t *testing.T) { checkHistories(t, s) })
	t.Run("account", func(t *testing.T) { checkAccount(t, s) })
	// newestLive is the position on INVOICES of the newest invoice event.
	var newestLive streamPosition
	t.Run("newest event", func(t *testing.T) { newestLive = checkNewestEvents(t, s) })
	t.Run("consumer lag", func(t *testing.T) { checkConsumerLags(t, s, newestLive) })
	t.Run("KV", func(t *testing.T) { checkDeliveryRecords(t, s) })
	sqlite3 := haveSQLite3(t)
	t.Run("read model", func(t *testing.T) {
		if !sqlite3 {
			t.Skip("the read model recipes need sqlite3 (Debian: apt-get install sqlite3)")
		}
		checkReadModel(t, s)
	})
	if t.Failed() {
		return // the replay counts on the events checked above
	}
	// newest is the position in the history of the newest invoice event
	// before the replay below.
	var newest streamPosition
	t.Run("history subjects", func(t *testing.T) { newest = checkHistorySubjects(t, s) })
	if t.Failed() {
		return // the replay starts from newest
	}
	t.Run("replay", func(t *testing.T) { checkReplays(t, s, newest) })
	if t.Failed() {
		return // a failed group leaves recipes unrun
	}

	// Every listed recipe ran; TestDocsShowTheNATSCLIRecipes holds the
	// document to the list.
	ran := s.cli.recipesRun()
	if !sqlite3 {
		ran = append(ran, recipeModelCounts, recipeModelInvoice, recipeModelDelivery) // skipped, said so
	}
	checkSameRecipes(t, ran, "recipe run but not listed in natscliRecipes", "recipe not run")
}

// checkSameRecipes reports each recipe of got not in natscliRecipes as
// extra, and each of natscliRecipes not in got as missing.
func checkSameRecipes(tb testing.TB, got []string, extra, missing string) {
	tb.Helper()
	for _, r := range got {
		if !slices.Contains(natscliRecipes, r) {
			tb.Errorf("%s: %s", extra, r)
		}
	}
	for _, r := range natscliRecipes {
		if !slices.Contains(got, r) {
			tb.Errorf("%s: %s", missing, r)
		}
	}
}
