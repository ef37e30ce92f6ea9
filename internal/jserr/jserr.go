// Package jserr classifies the errors JetStream returns.
package jserr

import (
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// jsErrClusterNoPeers is JetStream's "no suitable peers" refusal, which a
// cluster that is still forming answers.
const jsErrClusterNoPeers jetstream.ErrorCode = 10005

func apiCode(err error) (jetstream.ErrorCode, int, bool) {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return 0, 0, false
	}
	return apiErr.ErrorCode, apiErr.Code, true
}

// IsWrongLastSequence reports whether JetStream refused a publish because a
// Nats-Expected-Last-Subject-Sequence check found a newer message stored on
// the subject.
func IsWrongLastSequence(err error) bool {
	code, _, ok := apiCode(err)
	return ok && code == jetstream.JSErrCodeStreamWrongLastSequence
}

// IsConcurrentPublish reports whether a replicated stream refused a publish
// because another publish with an expectation on the same subject is still
// being replicated: the other one may yet fail, so nothing is known of the
// subject's final state.
func IsConcurrentPublish(err error) bool {
	code, _, ok := apiCode(err)
	return ok && code == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// IsTransient reports whether an operation that failed with err may succeed
// when simply tried again: transport failures (timeouts, no responders, a
// closed or reconnecting connection) and JetStream's own "temporarily
// unavailable" answers. A refusal of the request itself is not transient.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	code, status, ok := apiCode(err)
	if !ok {
		return true
	}
	return status == 503 || code == jsErrClusterNoPeers
}
