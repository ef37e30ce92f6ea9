//go:build unix

package filelock

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestASecondHolderIsRefusedUntilTheFirstLetsGo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	first, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := Lock(path); !errors.Is(err, ErrHeld) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("second Lock = %v, want %v", err, ErrHeld)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after the first let go: %v", err)
	}
	again.Close()
}

func TestLockFailsWhereTheFileCannotBe(t *testing.T) {
	if _, err := Lock(filepath.Join(t.TempDir(), "missing", "x.lock")); err == nil || errors.Is(err, ErrHeld) {
		t.Fatalf("Lock in a missing directory = %v", err)
	}
}
