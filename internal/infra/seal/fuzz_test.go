package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// FuzzOpen feeds Open arbitrary values: it never panics, refuses each with
// one of its errors, and opens nothing it did not seal.
func FuzzOpen(f *testing.F) {
	kr, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := kr.Seal([]byte("whsec_abc"), []byte("id"))
	for _, s := range []string{sealed, "", "v1..", "v1." + kr.SealingKeyID() + ".AAAA", sealed[:len(sealed)-1], "whsec_abc"} {
		f.Add(s, []byte("id"))
	}
	f.Fuzz(func(t *testing.T, s string, aad []byte) {
		got, err := kr.Open(s, aad)
		if err == nil {
			// Only "whsec_abc" under "id" was ever sealed with this key (by
			// this process or the one that made the seed corpus).
			if !bytes.Equal(aad, []byte("id")) || string(got) != "whsec_abc" {
				t.Fatalf("Open(%q, %q) = %q: opened what it did not seal", s, aad, got)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrNotAuthentic) {
			t.Fatalf("Open(%q) = %v: not one of its errors", s, err)
		}
		if _, perr := SealedKeyID(s); (perr == nil) == errors.Is(err, ErrMalformed) {
			t.Fatalf("SealedKeyID and Open disagree on %q: %v / %v", s, perr, err)
		}
	})
}

// FuzzParseKeys feeds ParseKeys arbitrary files: it never panics, every key
// it returns is KeySize bytes, and a file it accepts still parses the same
// with a comment and a blank line added.
func FuzzParseKeys(f *testing.F) {
	k := hex.EncodeToString(bytes.Repeat([]byte{1}, KeySize))
	for _, s := range []string{"", "# c\n" + k + "\n", k, k + "\n" + k, "xyz", "\r\n" + k + "\r\n", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseKeys(data)
		if err != nil {
			if !errors.Is(err, ErrKeyFile) {
				t.Fatalf("ParseKeys = %v, want ErrKeyFile", err)
			}
			return
		}
		for _, key := range keys {
			if len(key) != KeySize {
				t.Fatalf("a key of %d bytes", len(key))
			}
		}
		again, err := ParseKeys(append([]byte("# added\n\n"), data...))
		if err != nil || len(again) != len(keys) {
			t.Fatalf("with a comment on top: %d keys, %v; before %d", len(again), err, len(keys))
		}
	})
}
