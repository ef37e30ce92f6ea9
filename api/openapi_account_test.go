package api_test

import (
	"net/http"
	"testing"

	"github.com/invoiced/invoiced/api"
)

// oaAccountCases are getAccount's own answers: the test key's account,
// which it names none for, and no operator rights.
func oaAccountCases() []oaCase {
	return []oaCase{
		oaWith(oaGet("200", "getAccount", "/account", http.StatusOK), func(t testing.TB, r oaResult) {
			oaWant("account", api.KeyAccount(oaKey))(t, r)
			oaWant("operator", false)(t, r)
		}),
	}
}
