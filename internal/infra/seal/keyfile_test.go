package seal

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCreateKeyFileIsPrivateAndReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	made, err := CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != FileMode {
		t.Fatalf("mode %04o, want %04o", perm, FileMode)
	}
	read, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(read.KeyIDs(), made.KeyIDs()) {
		t.Fatalf("read %v, made %v", read.KeyIDs(), made.KeyIDs())
	}
	if _, err := CreateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("a second CreateKeyFile = %v, want fs.ErrExist: never overwrite a key", err)
	}
	if again, _ := ReadKeyFile(path); !slices.Equal(again.KeyIDs(), made.KeyIDs()) {
		t.Fatal("the key changed")
	}
}

func TestReadKeyFileRefusesLoosePermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	if _, err := CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o602, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := ReadKeyFile(path)
		if !errors.Is(err, ErrLoosePermissions) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: %v, want ErrLoosePermissions saying what to do", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(path); err != nil {
		t.Fatalf("mode 0400: %v", err)
	}
	if _, err := ReadKeyFile(filepath.Dir(path)); !errors.Is(err, ErrLoosePermissions) {
		t.Fatalf("a directory: %v", err)
	}
	if _, err := ReadKeyFile(path + ".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
}

func TestParseKeysFormats(t *testing.T) {
	a, b, c, d := mustKey(t), mustKey(t), mustKey(t), mustKey(t)
	file := "# comment\n\n  " + hex.EncodeToString(a) + "  \n" +
		base64.StdEncoding.EncodeToString(b) + "\r\n" +
		base64.RawURLEncoding.EncodeToString(c) + "\n" +
		"   # indented comment\n" + strings.ToUpper(hex.EncodeToString(d)) + "\n"
	keys, err := ParseKeys([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 || string(keys[0]) != string(a) || string(keys[1]) != string(b) || string(keys[2]) != string(c) || string(keys[3]) != string(d) {
		t.Fatalf("keys in the wrong order or misread: %d", len(keys))
	}
}

func TestParseKeysRefusesMalformedFiles(t *testing.T) {
	good := hex.EncodeToString(mustKey(t))
	for name, file := range map[string]string{
		"empty":          "",
		"comments only":  "# nothing\n\n",
		"short hex":      good[:62] + "\n",
		"16 bytes":       base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"trailing junk":  good + " x\n",
		"inline comment": good + " # mine\n",
		"bad line later": good + "\nnot-a-key-" + good[:20] + "\n",
	} {
		_, err := ParseKeys([]byte(file))
		if !errors.Is(err, ErrKeyFile) {
			t.Errorf("%s: %v, want ErrKeyFile", name, err)
			continue
		}
		if strings.Contains(err.Error(), good[:16]) {
			t.Errorf("%s: the error shows the file's content: %v", name, err)
		}
	}
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte(good+"\n"+good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(path); !errors.Is(err, ErrBadKey) {
		t.Fatalf("one key twice: %v, want ErrBadKey", err)
	}
}

func TestAddKeyPutsANewSealingKeyOnTop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	first, err := AddKey(path) // no file yet: made
	if err != nil {
		t.Fatal(err)
	}
	before, _ := ReadKeyFile(path)
	sealed, _ := before.Seal([]byte("s"), nil)
	second, err := AddKey(path)
	if err != nil {
		t.Fatal(err)
	}
	after, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(after.KeyIDs(), []string{second, first}) {
		t.Fatalf("keys %v, want [%s %s]", after.KeyIDs(), second, first)
	}
	if got, err := after.Open(sealed, nil); err != nil || string(got) != "s" {
		t.Fatalf("the old key no longer opens: %v", err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != FileMode {
		t.Fatalf("mode %04o after AddKey", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), keyFileHeader); n != 1 {
		t.Fatalf("the header appears %d times:\n%s", n, data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AddKey(path); !errors.Is(err, ErrLoosePermissions) {
		t.Fatalf("AddKey to a loose file = %v", err)
	}
}
