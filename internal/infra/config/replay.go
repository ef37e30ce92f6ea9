package config

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// DefaultNATSURL is where invoiced replay looks for NATS when told
// nowhere: the embedded server's default --nats-listen.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// Replay is the configuration of invoiced replay.
type Replay struct {
	NATSURL      string
	NATSAuth     NATSAuth
	Since        time.Time
	Subscription string
	EventType    string
	DryRun       bool
}

// ParseReplay reads the flags of invoiced replay from args, each defaulting
// to its INVOICED_<NAME> environment variable as in serve (NATS_URL is not
// read). --since takes an RFC 3339 time or a duration back from now. It
// returns flag.ErrHelp after printing usage to out when asked for help, and
// an error naming the bad flag otherwise.
func ParseReplay(args []string, getenv func(string) string, now time.Time, out io.Writer) (Replay, error) {
	var r Replay
	var since string
	fs := newCommandFlags("invoiced replay", "Usage: invoiced replay --since <time> [flags]\n\n"+
		"Re-sends the webhooks of stored events, as a manual retry does: each with its\n"+
		"delivery's webhook-id, every attempt recorded in the delivery's log.", out)
	fs.StringVar(&r.NATSURL, "nats-url", DefaultNATSURL, "URL of the NATS server or cluster holding the streams (NATS_URL, the nats CLI's variable, is not read)")
	r.NATSAuth.register(fs.FlagSet)
	fs.StringVar(&since, "since", "", "re-send the webhooks of events stored since this RFC 3339 time, or this long ago (e.g. 2h); required")
	fs.StringVar(&r.Subscription, "subscription", "", "re-send to this subscription only (its ID); default every enabled one that wants the event")
	fs.StringVar(&r.EventType, "event-type", "", "re-send only events of this type: "+strings.Join(webhook.EventTypes, ", "))
	fs.BoolVar(&r.DryRun, "dry-run", false, "count what would be re-sent, and send nothing")
	if err := fs.parse(args, getenv); err != nil {
		return Replay{}, err
	}
	var err error
	if r.Since, err = parseSince(since, now); err != nil {
		return Replay{}, err
	}
	return r, r.Validate()
}

// Validate reports the first problem: an unknown --event-type, or NATS
// sign-in options that do not fit together or name unreadable files.
func (r Replay) Validate() error {
	if r.EventType != "" && !slices.Contains(webhook.EventTypes, r.EventType) {
		return fmt.Errorf("--event-type must be one of %s, not %q", strings.Join(webhook.EventTypes, ", "), r.EventType)
	}
	return r.NATSAuth.validate(false)
}

// parseSince reads --since: an RFC 3339 time, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("--since is required: an RFC 3339 time such as 2006-01-02T15:04:05Z, or a duration such as 2h")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.After(now) {
			return time.Time{}, fmt.Errorf("--since %s is in the future", s)
		}
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("--since must be an RFC 3339 time or a positive duration, not %q", s)
	}
	return now.Add(-d), nil
}
