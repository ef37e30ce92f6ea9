package api

import "net/http"

// accountResponse is the answer of GET /account: whom the request's key
// stands for.
type accountResponse struct {
	Account  string `json:"account"`
	Operator bool   `json:"operator"`
}

// accountHandler answers the caller's account and whether it is an
// operator, so that a client, the console among them, can show what the
// key may see without trying.
func accountHandler(w http.ResponseWriter, r *http.Request) {
	c := CallerFrom(r.Context())
	writeJSON(w, http.StatusOK, accountResponse{Account: c.Account, Operator: c.Operator})
}
