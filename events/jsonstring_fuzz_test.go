package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// FuzzStringMatchesEncodingJSON holds the string code that events and the
// API share to encoding/json both ways: ScanString and AppendUnquoted read
// the first JSON string of data where, and as, json.Decoder reads it, and
// AppendString writes a string as json.Marshal does.
func FuzzStringMatchesEncodingJSON(f *testing.F) {
	for _, seed := range []string{`"plain"`, `"caf\u00e9"`, `"\ud83d\ude00 and \ud83d"`, `"a\"b\\c\/d\b\f\n\r\t"`,
		`"unterminated`, `"bad \x escape"`, "\"control \x01\"", "\"invalid \xff utf-8\"", `"\u12"`, `"<&>" tail`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != '"' {
			data = append([]byte{'"'}, data...)
		}
		raw, end, plain, ok := ScanString(data, 0)
		dec := json.NewDecoder(bytes.NewReader(data))
		tok, err := dec.Token()
		want, isString := tok.(string)
		if ok != (err == nil && isString) {
			var syntax *json.SyntaxError
			if !ok && (errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF)) {
				return // both refuse it
			}
			t.Fatalf("%q: ScanString ok=%v; encoding/json %v, %v", data, ok, tok, err)
		}
		if !ok {
			return
		}
		if end != int(dec.InputOffset()) {
			t.Fatalf("%q: ScanString ends at %d, encoding/json at %d", data, end, dec.InputOffset())
		}
		if got := string(AppendUnquoted(nil, raw)); got != want {
			t.Fatalf("%q: AppendUnquoted %q, encoding/json %q", data, got, want)
		}
		if plain && string(raw) != want {
			t.Fatalf("%q: plain, but %q is not its value %q", data, raw, want)
		}
		marshalled, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, want); !bytes.Equal(got, marshalled) {
			t.Fatalf("AppendString(%q) = %s, json.Marshal %s", want, got, marshalled)
		}
	})
}
