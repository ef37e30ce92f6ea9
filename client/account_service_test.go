package client_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/invoiced/invoiced/client"
)

func TestGetAccountNamesTheKeysAccount(t *testing.T) {
	got, err := newClient(t).GetAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(apiKey)) // a key that names no account is an account of its own
	if want := (client.Caller{Account: "key_" + hex.EncodeToString(sum[:8])}); *got != want {
		t.Fatalf("%+v, want %+v", *got, want)
	}
	bad, err := client.New(baseURL, client.WithAPIKey("not-a-key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetAccount(context.Background()); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("a key not accepted: %v", err)
	}
}
