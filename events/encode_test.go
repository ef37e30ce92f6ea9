package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// trickyStrings need every kind of escape encoding/json writes.
var trickyStrings = []string{
	"",
	"plain ascii 0123 ~!@#$%^*()_+`-={}|[]:;',./?",
	"<script>alert('x') && y</script>",
	`quote " backslash \ slash /`,
	"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f",
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20\x7f",
	"line\u2028separator\u2029paragraph",
	"ünïcode — 日本語 🧾 \ufffd",
	"bad \xff\xfe utf8",
	"cut \xe2\x82",
	"surrogate \xed\xa0\x80 encoded",
	"overlong \xc0\xaf",
	"\xf4\x90\x80\x80 beyond U+10FFFF",
	"end \xe2",
}

func TestEncodeMatchesMarshal(t *testing.T) {
	for _, tt := range encodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			checkEncode(t, tt.event)
		})
	}
}

type encodeCase struct {
	name  string
	event events.Event
}

func encodeCases() []encodeCase {
	cases := []encodeCase{
		{"zero", events.Event{}},
		{"requested", requestedEvent()},
		{"processed", processedEvent()},
		{"failed", failedEvent()},
		{"empty metadata", withInvoice(func(inv *events.Invoice) { inv.Metadata = map[string]string{} })},
		{"nil metadata", withInvoice(func(inv *events.Invoice) { inv.Metadata = nil })},
		{"metadata beyond the stack array", withInvoice(func(inv *events.Invoice) {
			inv.Metadata = map[string]string{}
			for i := range 20 {
				inv.Metadata[fmt.Sprintf("k%02d", 19-i)] = fmt.Sprint(i)
			}
		})},
		{"metadata keys sorted by bytes", withInvoice(func(inv *events.Invoice) {
			inv.Metadata = map[string]string{"b": "", "a\x00": "", "a": "", "ab": "", "A": "", "é": "", "<": "", "\xff": ""}
		})},
		{"extreme numbers", events.Event{Schema: -1 << 63, Invoice: events.Invoice{AmountCents: -1 << 63}}},
		{"max numbers", events.Event{Schema: 1<<63 - 1, Invoice: events.Invoice{AmountCents: 1<<63 - 1}}},
		{"failure reason only", events.Event{Invoice: events.Invoice{FailureReason: "x"}}},
		{"account", withInvoice(func(inv *events.Invoice) { inv.Account = "acme" })},
		{"empty idempotency", events.Event{Idempotency: &events.Idempotency{}}},
	}
	for i, s := range trickyStrings {
		cases = append(cases, encodeCase{fmt.Sprintf("string %d", i), everyString(s)})
	}
	for _, tc := range timeCases() {
		cases = append(cases, encodeCase{"time " + tc.name, everyTime(tc.time)})
	}
	return cases
}

type timeCase struct {
	name string
	time time.Time
}

func timeCases() []timeCase {
	base := time.Date(2024, time.March, 9, 14, 30, 15, 0, time.UTC)
	return []timeCase{
		{"zero", time.Time{}},
		{"whole second", base},
		{"tenth", base.Add(100 * time.Millisecond)},
		{"nanosecond", base.Add(1)},
		{"with a monotonic reading", time.Now()},
		{"local", base.Local()},
		{"east", base.In(time.FixedZone("IST", 5*3600+1800))},
		{"west", base.In(time.FixedZone("", -(9*3600 + 30*60)))},
		{"offset with seconds", base.In(time.FixedZone("LMT", 3600+23*60+45))},
		{"offset 23:59", base.In(time.FixedZone("", 23*3600+59*60))},
		{"offset 24:00", base.In(time.FixedZone("", 24*3600))},
		{"offset -24:00", base.In(time.FixedZone("", -24*3600))},
		{"named zero offset", base.In(time.FixedZone("GMT", 0))},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year -1", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year 9999 pushed over by its zone", time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC).In(time.FixedZone("", 3600))},
	}
}

func withInvoice(change func(*events.Invoice)) events.Event {
	e := requestedEvent()
	change(&e.Invoice)
	return e
}

// everyString returns a requested event with s in every string field.
func everyString(s string) events.Event {
	at := createdAt
	return events.Event{
		Schema: 1, ID: s, Type: events.Type(s), Time: at,
		Invoice: events.Invoice{
			ID: s, Account: s, Status: events.Status(s), CustomerID: s, Currency: s, Description: s,
			Metadata: map[string]string{s: s, s + "k": s}, CreatedAt: at, FailureReason: s,
		},
		Idempotency: &events.Idempotency{Caller: s, Endpoint: s, Key: s, RequestHash: s},
	}
}

// everyTime returns an outcome event with t in every time field.
func everyTime(t time.Time) events.Event {
	p, f := t, t
	e := processedEvent()
	e.Time, e.Invoice.CreatedAt, e.Invoice.ProcessedAt, e.Invoice.FailedAt = t, t, &p, &f
	return e
}

// checkEncode fails unless Encode and AppendEncode write what json.Marshal
// writes for e and fail as it does, and unless the fast decoder reads the
// encoding back as encoding/json does.
func checkEncode(t *testing.T, e events.Event) {
	t.Helper()
	want, wantErr := json.Marshal(e)
	got, err := events.Encode(e)
	if wantErr != nil {
		wantMsg := fmt.Sprintf("encode %s %s: %v", e.Type, e.ID, wantErr)
		if err == nil || err.Error() != wantMsg {
			t.Fatalf("Encode error = %v, want %s", err, wantMsg)
		}
		if got != nil {
			t.Errorf("Encode returned %q with its error", got)
		}
	} else if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Encode differs from json.Marshal (error %v)\n got  %s\n want %s", err, got, want)
	}

	prefix := []byte("prefix")
	app, err := events.AppendEncode(prefix[:len(prefix):len(prefix)], e)
	if wantErr != nil {
		want = nil
		if err == nil {
			t.Errorf("AppendEncode succeeded where json.Marshal fails: %v", wantErr)
		}
	}
	if !bytes.Equal(app, append(prefix, want...)) {
		t.Errorf("AppendEncode = %q, want %q", app, append(prefix, want...))
	}
	if wantErr == nil {
		checkDecodeFast(t, got, true)
	}
}

// checkDecodeFast fails unless the fast decoder agrees with json.Unmarshal
// on data: whatever it accepts, json.Unmarshal accepts and decodes to the
// same Event. wantFast says whether it must accept data.
func checkDecodeFast(t *testing.T, data []byte, wantFast bool) {
	t.Helper()
	fast, ok := events.DecodeFast(data)
	if wantFast && !ok {
		t.Errorf("fast decoder gave up on %q", data)
	}
	if !ok {
		if !reflect.DeepEqual(fast, events.Event{}) {
			t.Errorf("fast decoder gave up on %q but returned %+v", data, fast)
		}
		return
	}
	var ref events.Event
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("fast decoder accepted %q, which json.Unmarshal refuses: %v", data, err)
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("fast decoder differs from json.Unmarshal on %q\n fast %#v\n json %#v", data, fast, ref)
	}
}

func TestAppendEncodeReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 4096)
	for _, e := range []events.Event{requestedEvent(), processedEvent(), failedEvent()} {
		t.Run(string(e.Type), func(t *testing.T) {
			out, err := events.AppendEncode(buf[:0], e)
			if err != nil {
				t.Fatal(err)
			}
			if &out[0] != &buf[:1][0] {
				t.Error("AppendEncode did not write into the given buffer")
			}
			if want := mustEncode(t, e); !bytes.Equal(out, want) {
				t.Errorf("AppendEncode = %s, want %s", out, want)
			}
		})
	}
}

func TestEncodeFailsOnUnencodableTime(t *testing.T) {
	e := everyTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	_, err := events.Encode(e)
	if err == nil || !strings.Contains(err.Error(), "year outside of range") {
		t.Fatalf("Encode error = %v, want one about the year", err)
	}
	dst := []byte("kept")
	out, err := events.AppendEncode(dst, e)
	if err == nil || string(out) != "kept" {
		t.Errorf("AppendEncode = %q, %v; want %q and an error", out, err, "kept")
	}
}
