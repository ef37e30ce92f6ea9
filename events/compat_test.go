package events_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/events"
)

// Events as earlier releases stored them on INVOICES, byte for byte (read
// back with `nats stream get INVOICES <seq> --json` from a service of that
// release), under testdata/compat/<commit>/, each with the subject it was
// stored at. A service keeps such events on INVOICES until compaction
// removes them and in its history for good, so every reader of this
// release must take them as they are.
//
//   - 37c9b93, the last release before accounts: an invoice names no
//     account; its request's idempotency.caller is "default" without API
//     keys, or key_<16 hex digits of the key's SHA-256> with them. Subjects
//     are invoices.<id>.<kind>.
//   - 76c51eb, the last release before the account was in subjects: every
//     event names invoice.account ("acme" from a key given account=acme in
//     the keys file); subjects are still invoices.<id>.<kind>.
//
// testdata/compat/future/ holds a request as a later release might write
// it: schema 2, with a field this release does not know.

// compatEvent is one stored event and what this release must read in it.
type compatEvent struct {
	file    string // under testdata/compat
	subject string // the subject it was stored at
	typ     events.Type
	status  events.Status
	account string // what Event.Account says
	caller  string // the request's idempotency.caller; only on InvoiceRequested
}

const (
	defaultInvoice = "91733d96-050b-59d1-a68c-89b289e950c3" // inv-001 without API keys
	keyInvoice     = "06e6940b-5fd0-5d81-bc65-c6bea54d6d31" // inv-001 with the key
	largeInvoice   = "8cd0d794-a99a-5c27-a833-6d90bef05104" // inv-002 with the key, above the amount limit
	acmeInvoice    = "7b93bc83-bc8c-5706-826f-27ce476a0907" // inv-001 with acme's key
	keyAccount     = "key_78d832a84a2cf257"
)

var compatEvents = []compatEvent{
	{"37c9b93/default-requested.json", "invoices." + defaultInvoice + ".requested", events.InvoiceRequested, events.StatusCreated, "default", "default"},
	{"37c9b93/default-processed.json", "invoices." + defaultInvoice + ".processed", events.InvoiceProcessed, events.StatusProcessed, "default", ""},
	{"37c9b93/key-requested.json", "invoices." + keyInvoice + ".requested", events.InvoiceRequested, events.StatusCreated, keyAccount, keyAccount},
	// An outcome of that release carries neither an account nor its
	// request's caller, so on its own it reads as default's. The invoice
	// is the key's all the same: the API and the read model take an
	// invoice's account from its request.
	{"37c9b93/key-processed.json", "invoices." + keyInvoice + ".processed", events.InvoiceProcessed, events.StatusProcessed, "default", ""},
	{"37c9b93/key-large-requested.json", "invoices." + largeInvoice + ".requested", events.InvoiceRequested, events.StatusCreated, keyAccount, keyAccount},
	{"37c9b93/key-large-failed.json", "invoices." + largeInvoice + ".failed", events.InvoiceFailed, events.StatusFailed, "default", ""},

	{"76c51eb/default-requested.json", "invoices." + defaultInvoice + ".requested", events.InvoiceRequested, events.StatusCreated, "default", "default"},
	{"76c51eb/default-processed.json", "invoices." + defaultInvoice + ".processed", events.InvoiceProcessed, events.StatusProcessed, "default", ""},
	{"76c51eb/acme-requested.json", "invoices." + acmeInvoice + ".requested", events.InvoiceRequested, events.StatusCreated, "acme", "acme"},
	{"76c51eb/acme-processed.json", "invoices." + acmeInvoice + ".processed", events.InvoiceProcessed, events.StatusProcessed, "acme", ""},
	{"76c51eb/key-large-requested.json", "invoices." + largeInvoice + ".requested", events.InvoiceRequested, events.StatusCreated, keyAccount, keyAccount},
	{"76c51eb/key-large-failed.json", "invoices." + largeInvoice + ".failed", events.InvoiceFailed, events.StatusFailed, keyAccount, ""},
}

func readCompat(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "compat", file))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCompatEventsOfEarlierReleases decodes every stored event under the
// subject it was stored at, as every reader does, and checks what it says:
// its type, status, account and, for a request, its caller. It also checks
// that the IDs this release derives are the ones stored, so a request
// retried after an upgrade names the same invoice and its events dedupe
// against the stored ones.
func TestCompatEventsOfEarlierReleases(t *testing.T) {
	for _, c := range compatEvents {
		t.Run(c.file, func(t *testing.T) {
			data := readCompat(t, c.file)
			ev, err := events.DecodeMsg(c.subject, data)
			if err != nil {
				t.Fatalf("DecodeMsg(%q): %v", c.subject, err)
			}
			addr, err := events.ParseSubject(c.subject)
			if err != nil {
				t.Fatal(err)
			}
			if addr.Account != "" {
				t.Errorf("%s: the subject names account %q; the old form names none", c.subject, addr.Account)
			}
			if ev.Schema != 1 || ev.Type != c.typ || ev.Invoice.Status != c.status || ev.Invoice.ID != addr.ID {
				t.Errorf("schema %d, %s of %s with status %q; want schema 1, %s of %s with status %q",
					ev.Schema, ev.Type, ev.Invoice.ID, ev.Invoice.Status, c.typ, addr.ID, c.status)
			}
			if got := ev.Account(); got != c.account {
				t.Errorf("Account() = %q, want %q", got, c.account)
			}
			if id := events.EventID(ev.Invoice.ID, ev.Type); ev.ID != id {
				t.Errorf("event ID %s; this release derives %s for it", ev.ID, id)
			}
			switch {
			case c.typ != events.InvoiceRequested && ev.Idempotency != nil:
				t.Errorf("an outcome with an idempotency record: %+v", *ev.Idempotency)
			case c.typ == events.InvoiceRequested && ev.Idempotency == nil:
				t.Fatal("a request without its idempotency record")
			case c.typ == events.InvoiceRequested:
				idem := *ev.Idempotency
				if idem.Caller != c.caller {
					t.Errorf("caller %q, want %q", idem.Caller, c.caller)
				}
				if id := events.InvoiceID(idem.Caller, idem.Endpoint, idem.Key); id != ev.Invoice.ID {
					t.Errorf("invoice %s; this release derives %s for key %q of %q", ev.Invoice.ID, id, idem.Key, idem.Caller)
				}
			}
			if plain, err := events.Decode(data); err != nil || plain.ID != ev.ID || plain.Account() != ev.Account() {
				t.Errorf("Decode without the subject: %+v, %v", plain, err)
			}
		})
	}
}

// TestCompatOldSubjectsAreReadAlike checks that the filters readers use for
// one invoice's events and for one kind take the old subject form too, and
// that the subject this release writes for a stored event names the account
// it reads there and decodes the same bytes, while a subject naming another
// account does not.
func TestCompatOldSubjectsAreReadAlike(t *testing.T) {
	for _, c := range compatEvents {
		t.Run(c.file, func(t *testing.T) {
			data := readCompat(t, c.file)
			ev, err := events.DecodeMsg(c.subject, data)
			if err != nil {
				t.Fatal(err)
			}
			kind := c.subject[strings.LastIndexByte(c.subject, '.')+1:]
			if got := events.EventSubjects(ev.Invoice.ID, ev.Type); !slices.Contains(got, c.subject) {
				t.Errorf("EventSubjects = %q, without the stored subject %q", got, c.subject)
			}
			if got := events.KindSubjects(ev.Type); !slices.Contains(got, "invoices.*."+kind) {
				t.Errorf("KindSubjects = %q, without the old form invoices.*.%s", got, kind)
			}
			if got, want := events.InvoiceSubjects(ev.Invoice.ID), "invoices."+ev.Invoice.ID+".>"; got != want {
				t.Errorf("InvoiceSubjects = %q, want %q, which takes both forms", got, want)
			}

			now := ev.Subject()
			if want := "invoices." + ev.Invoice.ID + "." + kind + "." + c.account; now != want {
				t.Errorf("Subject() = %q, want %q", now, want)
			}
			again, err := events.DecodeMsg(now, data)
			if err != nil || again.ID != ev.ID {
				t.Errorf("DecodeMsg(%q): %+v, %v", now, again, err)
			}
			other := "invoices." + ev.Invoice.ID + "." + kind + ".someone-else"
			if _, err := events.DecodeMsg(other, data); !errors.Is(err, events.ErrMalformed) {
				t.Errorf("DecodeMsg(%q) = %v, want ErrMalformed: a subject's account must be the event's", other, err)
			}
		})
	}
}

// TestCompatSameEventAcrossReleases checks that a request and an outcome stored
// by both releases for the same API key and Idempotency-Key name the same
// invoice and carry the same event IDs, so a service that holds both
// forms holds one invoice, not two.
func TestCompatSameEventAcrossReleases(t *testing.T) {
	for _, name := range []string{"key-large-requested.json", "key-large-failed.json", "default-requested.json", "default-processed.json"} {
		before, err := events.Decode(readCompat(t, "37c9b93/"+name))
		if err != nil {
			t.Fatal(err)
		}
		after, err := events.Decode(readCompat(t, "76c51eb/"+name))
		if err != nil {
			t.Fatal(err)
		}
		if before.ID != after.ID || before.Invoice.ID != after.Invoice.ID {
			t.Errorf("%s: event %s of %s before, %s of %s after", name, before.ID, before.Invoice.ID, after.ID, after.Invoice.ID)
		}
		if before.Type == events.InvoiceRequested && before.Account() != after.Account() {
			t.Errorf("%s: request of account %q before, %q after", name, before.Account(), after.Account())
		}
	}
}

// TestCompatNewerSchemaIsRefused decodes a request written with a schema this
// release does not know: it must fail as unsupported, not as malformed,
// so a reader can tell "upgrade me" from garbage.
func TestCompatNewerSchemaIsRefused(t *testing.T) {
	data := readCompat(t, "future/schema-2-requested.json")
	_, err := events.DecodeMsg("invoices."+acmeInvoice+".requested.acme", data)
	if !errors.Is(err, events.ErrUnsupportedSchema) || errors.Is(err, events.ErrMalformed) {
		t.Fatalf("DecodeMsg of schema 2: %v, want ErrUnsupportedSchema", err)
	}
	if events.SchemaVersion != 1 {
		t.Errorf("SchemaVersion is %d: this file's events and docs/OPERATIONS.md describe schema 1; add the earlier schema's events here", events.SchemaVersion)
	}
}
