package client

import (
	"context"
	"net/http"
)

// Caller is whom an API key stands for.
type Caller struct {
	// Account owns what the key creates, and is all it sees unless
	// Operator.
	Account string `json:"account"`
	// Operator keys see and manage every account.
	Operator bool `json:"operator"`
}

// GetAccount returns whom the client's API key stands for. It fails with an
// *Error matching ErrUnauthorized when the key is not accepted.
func (c *Client) GetAccount(ctx context.Context, opts ...CallOption) (*Caller, error) {
	var out Caller
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/account", safe: true}, newCallConfig(opts), &out); err != nil {
		return nil, err
	}
	return &out, nil
}
