// Package jserr classifies the errors JetStream returns.
package jserr

import (
	"errors"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// JetStream's error codes that nats.go does not name.
const (
	// jsErrClusterNoPeers is the "no suitable peers" refusal, which a
	// cluster that is still forming answers.
	jsErrClusterNoPeers jetstream.ErrorCode = 10005
	// jsErrAccountResourcesExceeded: the account has used the storage
	// (or memory) its limits allow.
	jsErrAccountResourcesExceeded jetstream.ErrorCode = 10002
	// jsErrInsufficientResources: the server has used the storage
	// JetStream may use.
	jsErrInsufficientResources jetstream.ErrorCode = 10023
	// jsErrMemoryResourcesExceeded and
	// jsErrStorageResourcesExceeded: no memory or disk is left to
	// reserve for a stream.
	jsErrMemoryResourcesExceeded  jetstream.ErrorCode = 10028
	jsErrStorageResourcesExceeded jetstream.ErrorCode = 10047
	// jsErrStreamStoreFailed: the stream did not store a message; its
	// description says why.
	jsErrStreamStoreFailed jetstream.ErrorCode = 10077
)

// streamFull are the reasons a stream whose limits refuse new messages
// (discard new) gives for not storing one.
var streamFull = []string{"maximum bytes exceeded", "maximum messages exceeded"}

func apiCode(err error) (jetstream.ErrorCode, int, bool) {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return 0, 0, false
	}
	return apiErr.ErrorCode, apiErr.Code, true
}

// IsInsufficientStorage reports whether JetStream refused a write for want
// of room: the server or the account has used the storage it may use, or
// the stream is at its byte or message limit and refuses new messages. Nothing
// of the refused message is stored, and the same write may succeed once
// room is made.
func IsInsufficientStorage(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jsErrAccountResourcesExceeded, jsErrInsufficientResources, jsErrMemoryResourcesExceeded, jsErrStorageResourcesExceeded:
		return true
	case jsErrStreamStoreFailed:
		for _, reason := range streamFull {
			if strings.Contains(apiErr.Description, reason) {
				return true
			}
		}
	}
	return false
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
