package events_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/events"
)

// decodeCase is an input to Decode and whether the fast decoder must take
// it (true) or leave it to encoding/json (false).
type decodeCase struct {
	name string
	data string
	fast bool
}

// decodeCases cover the leniency of json.Unmarshal and the edges of what
// the fast decoder takes.
func decodeCases(tb testing.TB) []decodeCase {
	req := string(mustEncode(tb, requestedEvent()))
	proc := string(mustEncode(tb, processedEvent()))
	fail := string(mustEncode(tb, failedEvent()))
	event := func(invoiceMembers, eventMembers string) string {
		return `{"schema":1,"id":"e","type":"InvoiceProcessed","invoice":{"id":"i","status":"processed"` +
			invoiceMembers + "}" + eventMembers + "}"
	}
	inv := func(member string) string { return event(","+member, "") }
	top := func(member string) string { return event("", ","+member) }
	return []decodeCase{
		{"requested", req, true},
		{"processed", proc, true},
		{"failed", fail, true},
		{"minimal", inv(`"amount_cents":0`), true},
		{"indented", indent(tb, req), true},
		{"surrounding whitespace", " \n\t\r" + proc + "\r\n ", true},
		{"keys in another order", `{"invoice":{"status":"processed","id":"i"},"type":"InvoiceProcessed","id":"e","schema":1}`, true},
		{"nulls everywhere", top(`"time":null,"idempotency":null`), true},
		{"null invoice members", inv(`"customer_id":null,"amount_cents":null,"metadata":null,"created_at":null,"processed_at":null,"failure_reason":null`), true},
		{"null invoice", `{"schema":1,"id":"e","type":"InvoiceProcessed","invoice":null}`, true},
		{"null schema", `{"schema":null}`, true},
		{"null idempotency members", top(`"idempotency":{"caller":null,"key":"k"}`), true},
		{"empty idempotency", top(`"idempotency":{}`), true},
		{"empty metadata", inv(`"metadata":{}`), true},
		{"account", inv(`"account":"acme"`), true},
		{"null account", inv(`"account":null`), true},
		{"repeated account", inv(`"account":"a","account":"b"`), false},
		{"repeated metadata key", inv(`"metadata":{"a":"1","b":"2","a":"3"}`), true},
		{"null metadata value", inv(`"metadata":{"a":null}`), true},
		{"escaped metadata key", inv(`"metadata":{"\u0041\n\ud83e\uddfe\ud800":"\/"}`), true},
		{"metadata value a number", inv(`"metadata":{"a":1}`), false},
		{"metadata an array", inv(`"metadata":["a"]`), false},
		{"escapes", inv(`"description":"\"\\\/\b\f\n\r\t\u0000\u00e9\u2028\uD83E\uDDFE"`), true},
		{"lone surrogates", inv(`"description":"\ud800 \udc00\ud800 \ud800\u0041 \ud800\\"`), true},
		{"invalid UTF-8", inv("\"description\":\"\xff\xe2\x82 \xed\xa0\x80 \xc0\xaf ok\""), true},
		{"escaped name", strings.Replace(proc, `"InvoiceProcessed"`, `"Invoice\u0050rocessed"`, 1), true},
		{"non-ASCII name", strings.Replace(proc, `"processed"`, `"procéssed"`, 1), true},
		{"negative zero", inv(`"amount_cents":-0`), true},
		{"min int64", inv(`"amount_cents":-9223372036854775808`), true},
		{"max int64", inv(`"amount_cents":9223372036854775807`), true},
		{"beyond int64", inv(`"amount_cents":9223372036854775808`), false},
		{"below int64", inv(`"amount_cents":-9223372036854775809`), false},
		{"twenty digits", inv(`"amount_cents":10000000000000000000`), false},
		{"fraction", inv(`"amount_cents":1.0`), false},
		{"exponent", inv(`"amount_cents":1e2`), false},
		{"leading zero", inv(`"amount_cents":01`), false},
		{"minus alone", inv(`"amount_cents":-`), false},
		{"amount as string", inv(`"amount_cents":"1"`), false},
		{"bool", inv(`"amount_cents":true`), false},
		{"offset +00:00", strings.ReplaceAll(req, `Z"`, `+00:00"`), true},
		{"offset +05:30", strings.ReplaceAll(req, `Z"`, `+05:30"`), true},
		{"offset -23:59", strings.ReplaceAll(req, `Z"`, `-23:59"`), true},
		{"offset 24:00", strings.ReplaceAll(req, `Z"`, `+24:00"`), true},
		{"lower-case t and z", inv(`"created_at":"2024-03-09t14:30:15z"`), false},
		{"one-digit hour", inv(`"created_at":"2024-03-09T4:30:15Z"`), true},
		{"comma fraction", inv(`"created_at":"2024-03-09T14:30:15,5Z"`), true},
		{"time with an escape", inv(`"created_at":"2024\u002d03-09T14:30:15Z"`), false},
		{"time not a time", inv(`"created_at":"yesterday"`), false},
		{"time a number", inv(`"created_at":1`), false},
		{"time an object", inv(`"processed_at":{}`), false},
		{"capitalised key", strings.Replace(req, `"idempotency":`, `"Idempotency":`, 1), false},
		{"key with long s", strings.Replace(req, `"schema":`, `"ſchema":`, 1), false},
		{"key with Kelvin sign", strings.Replace(req, `"key":`, "\"\u212aey\":", 1), false},
		{"escaped key", strings.Replace(req, `"schema":`, `"sch\u0065ma":`, 1), false},
		{"unknown key", top(`"extra":[1,{"a":null}]`), false},
		{"repeated key", top(`"id":"e2"`), false},
		{"repeated invoice", top(`"invoice":{"customer_id":"c"}`), false},
		{"repeated null", top(`"time":null,"time":null`), false},
		{"empty object", `{}`, true},
		{"schema 2", `{"schema":2,"type":"InvoiceRenamed","id":"x"}`, true},
		{"top-level null", `null`, false},
		{"array", `[1,2]`, false},
		{"empty", ``, false},
		{"truncated", req[:len(req)/2], false},
		{"trailing comma", `{"schema":1,}`, false},
		{"missing colon", `{"schema" 1}`, false},
		{"missing comma", `{"schema":1 "id":"x"}`, false},
		{"trailing data", proc + `{}`, false},
		{"trailing garbage", proc + ` x`, false},
		{"byte order mark", "\ufeff" + proc, false},
		{"vertical tab", "\v" + proc, false},
		{"control character in a string", inv("\"description\":\"a\tb\""), false},
		{"unknown escape", inv(`"description":"\'"`), false},
		{"short unicode escape", inv(`"description":"\u12"`), false},
		{"bad hex", inv(`"description":"\u12g4"`), false},
		{"unterminated string", `{"schema":1,"id":"x`, false},
		{"nul", "{\"schema\":1}\x00", false},
		{"nully", `{"schema":nully}`, false},
	}
}

// indent returns data indented with every kind of JSON whitespace.
func indent(tb testing.TB, data string) string {
	tb.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(data), "\r", " \t"); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

func TestDecodeMatchesUnmarshal(t *testing.T) {
	for _, tt := range decodeCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			checkDecodeFast(t, []byte(tt.data), tt.fast)
			if _, ok := events.DecodeFast([]byte(tt.data)); ok != tt.fast {
				t.Errorf("fast decoder took it: %v, want %v", ok, tt.fast)
			}
			checkDecode(t, []byte(tt.data))
		})
	}
}

// checkDecode fails unless Decode returns what it returns with
// encoding/json alone: the same event, or an error with the same text.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	got, err := events.Decode(data)
	want, wantErr := events.DecodeReference(data)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("Decode(%q) error = %v, want %v", data, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q) differs from encoding/json\n got  %#v\n want %#v", data, got, want)
	}
}

func FuzzDecodeMatchesUnmarshal(f *testing.F) {
	for _, tt := range decodeCases(f) {
		f.Add([]byte(tt.data))
	}
	for _, tc := range encodeCases() {
		if b, err := events.Encode(tc.event); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeFast(t, data, false)
		checkDecode(t, data)
	})
}
