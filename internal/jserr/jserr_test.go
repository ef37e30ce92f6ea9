package jserr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestClassify(t *testing.T) {
	wrong := &jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence, Code: 400}
	constant := &jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequenceConstant, Code: 400}
	tests := []struct {
		name                         string
		err                          error
		wrongLast, concurrent, retry bool
	}{
		{"wrong last sequence", wrong, true, false, false},
		{"wrapped wrong last sequence", fmt.Errorf("publish: %w", wrong), true, false, false},
		{"replicated conflict", constant, false, true, false},
		{"not enabled", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeJetStreamNotEnabled, Code: 503}, false, false, true},
		{"no peers yet", &jetstream.APIError{ErrorCode: 10005, Code: 400}, false, false, true},
		{"replicas refused", &jetstream.APIError{ErrorCode: 10074, Code: 500}, false, false, false},
		{"timeout", context.DeadlineExceeded, false, false, true},
		{"no responders", nats.ErrNoResponders, false, false, true},
		{"nil", nil, false, false, false},
		{"plain error text", errors.New("wrong last sequence"), false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsWrongLastSequence(tt.err); got != tt.wrongLast {
				t.Errorf("IsWrongLastSequence = %v", got)
			}
			if got := IsConcurrentPublish(tt.err); got != tt.concurrent {
				t.Errorf("IsConcurrentPublish = %v", got)
			}
			if got := IsTransient(tt.err); got != tt.retry {
				t.Errorf("IsTransient = %v", got)
			}
		})
	}
}
