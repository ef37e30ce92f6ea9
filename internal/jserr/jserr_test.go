package jserr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestIsWrongLastSequence(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"single replica", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, true},
		{"replicated", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequenceConstant}, true},
		{"wrapped", fmt.Errorf("publish: %w", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}), true},
		{"other API error", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamNotFound}, false},
		{"not an API error", errors.New("wrong last sequence"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsWrongLastSequence(tt.err); got != tt.want {
				t.Fatalf("IsWrongLastSequence(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
