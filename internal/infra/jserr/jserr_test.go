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
		full                         bool
	}{
		{"wrong last sequence", wrong, true, false, false, false},
		{"wrapped wrong last sequence", fmt.Errorf("publish: %w", wrong), true, false, false, false},
		{"replicated conflict", constant, false, true, false, false},
		{"not enabled", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeJetStreamNotEnabled, Code: 503}, false, false, true, false},
		{"no peers yet", &jetstream.APIError{ErrorCode: 10005, Code: 400}, false, false, true, false},
		{"replicas refused", &jetstream.APIError{ErrorCode: 10074, Code: 500}, false, false, false, false},
		{"timeout", context.DeadlineExceeded, false, false, true, false},
		{"no responders", nats.ErrNoResponders, false, false, true, false},
		{"nil", nil, false, false, false, false},
		{"plain error text", errors.New("wrong last sequence"), false, false, true, false},
		{"insufficient resources", &jetstream.APIError{ErrorCode: 10023, Code: 503, Description: "insufficient resources"}, false, false, true, true},
		{"account resources exceeded", &jetstream.APIError{ErrorCode: 10002, Code: 400, Description: "resource limits exceeded for account"}, false, false, false, true},
		{"storage resources exceeded", &jetstream.APIError{ErrorCode: 10047, Code: 500}, false, false, false, true},
		{"memory resources exceeded", &jetstream.APIError{ErrorCode: 10028, Code: 500}, false, false, false, true},
		{"stream at its byte limit", fmt.Errorf("update k: %w", &jetstream.APIError{ErrorCode: 10077, Code: 503, Description: "maximum bytes exceeded"}),
			false, false, true, true},
		{"stream at its message limit", &jetstream.APIError{ErrorCode: 10077, Code: 503, Description: "maximum messages exceeded"}, false, false, true, true},
		{"subject at its message limit", &jetstream.APIError{ErrorCode: 10077, Code: 503, Description: "maximum messages per subject exceeded"},
			false, false, true, false},
		{"message too large", &jetstream.APIError{ErrorCode: 10077, Code: 503, Description: "message too large"}, false, false, true, false},
		{"maximum bytes in plain text", errors.New("maximum bytes exceeded"), false, false, true, false},
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
			if got := IsInsufficientStorage(tt.err); got != tt.full {
				t.Errorf("IsInsufficientStorage = %v", got)
			}
		})
	}
}
