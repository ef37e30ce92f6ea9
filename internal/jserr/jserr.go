// Package jserr classifies the errors JetStream returns.
package jserr

import (
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// IsWrongLastSequence reports whether JetStream refused a publish because a
// Nats-Expected-Last-Subject-Sequence check failed: the subject already holds
// a newer message. Single-replica and replicated streams use two codes.
func IsWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}
