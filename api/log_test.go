package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }
