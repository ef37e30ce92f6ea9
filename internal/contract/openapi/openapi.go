// Package openapi holds the OpenAPI 3.1 document of the HTTP API and of the
// webhooks it sends: what the api role serves at /openapi.json, and what
// the api's and the dispatcher's tests check their answers and webhooks
// against.
package openapi

import (
	_ "embed"
	"slices"
)

//go:embed openapi.json
var document []byte

// Document returns a copy of the document.
func Document() []byte { return slices.Clone(document) }
