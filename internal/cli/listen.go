package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/internal/feature/listen"
	"github.com/invoiced/invoiced/internal/infra/config"
)

// runListen runs invoiced listen (internal/feature/listen) until ctx ends.
func runListen(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseListen(args, getenv, stderr)
	if err != nil {
		return usage(err)
	}
	api, err := client.New(cfg.API, client.WithAPIKey(cfg.APIKey), client.WithUserAgent("invoiced-listen"))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return listen.Run(ctx, api, cfg, stdout, stderr)
}
