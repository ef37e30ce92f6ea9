package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on an invoice request.
const (
	MaxBodyBytes        = 64 << 10
	MaxCustomerIDLen    = 255
	MaxAmountCents      = 1_000_000_000_000
	MaxDescriptionLen   = 1000
	MaxMetadataPairs    = 20
	MaxMetadataKeyLen   = 40
	MaxMetadataValueLen = 500
	DefaultCurrency     = "USD"
)

// invoiceFields is the POST /invoices payload as it arrives; the has flags
// tell a missing field from a zero one.
type invoiceFields struct {
	CustomerID     string
	AmountCents    int64
	Currency       string
	Description    string
	Metadata       map[string]string
	HasCustomerID  bool
	HasAmountCents bool
	HasCurrency    bool
	HasDescription bool
}

// invoiceRequest is a valid POST /invoices payload with defaults applied.
// Its JSON encoding is canonical: equal requests encode to equal bytes.
type invoiceRequest struct {
	CustomerID  string            `json:"customer_id"`
	AmountCents int64             `json:"amount_cents"`
	Currency    string            `json:"currency"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

// decodeInvoiceRequest parses and validates a POST /invoices body. It fails
// with an error matching ErrInvalid that names the offending field where
// there is one.
func decodeInvoiceRequest(body []byte) (invoiceRequest, error) {
	var p invoiceParser
	in, err := p.parse(body)
	if err != nil {
		return invoiceRequest{}, err
	}
	return in.validate()
}

// jsonError explains a decoding failure, naming the field where it can.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("%w: malformed JSON at byte %d: %s", ErrInvalid, syntax.Offset, syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: malformed JSON: the body ends too early", ErrInvalid)
	case errors.As(err, &typ) && typ.Field == "":
		return notAnObject(typ.Value)
	case errors.As(err, &typ):
		return wrongType(typ.Field, typ.Type.Kind().String(), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := strings.Trim(name, `"`)
		return invalidField(field, "unknown field")
	}
	return fmt.Errorf("%w: malformed JSON: %s", ErrInvalid, err.Error())
}

// notAnObject refuses a body whose JSON value is of kind got.
func notAnObject(got string) error {
	return fmt.Errorf("%w: the body must be a JSON object, not %s", ErrInvalid, got)
}

// wrongType refuses a value of kind got where field wants a Go value of
// kind want.
func wrongType(field, want, got string) error {
	return invalidField(field, "must be %s, not %s", kindName(want), got)
}

func kindName(kind string) string {
	switch kind {
	case "int64", "int":
		return "an integer"
	case "string":
		return "a string"
	case "map":
		return "an object of strings"
	}
	return "a " + kind
}

// validate checks every rule and applies defaults, reporting all the
// offending fields at once.
func (in invoiceFields) validate() (invoiceRequest, error) {
	var v ValidationError
	out := invoiceRequest{Currency: DefaultCurrency}
	switch {
	case !in.HasCustomerID:
		v.add("customer_id", "is required")
	default:
		out.CustomerID = in.CustomerID
		checkID(&v, "customer_id", out.CustomerID)
	}
	switch {
	case !in.HasAmountCents:
		v.add("amount_cents", "is required")
	case in.AmountCents < 1 || in.AmountCents > MaxAmountCents:
		v.add("amount_cents", "must be between 1 and %d, not %d", int64(MaxAmountCents), in.AmountCents)
	default:
		out.AmountCents = in.AmountCents
	}
	if in.HasCurrency {
		out.Currency = in.Currency
		if !iso4217[out.Currency] {
			v.add("currency", "must be an ISO 4217 code of three uppercase letters, such as USD, not %q", out.Currency)
		}
	}
	if in.HasDescription {
		out.Description = in.Description
		checkText(&v, "description", out.Description, 0, MaxDescriptionLen)
	}
	checkMetadata(&v, in.Metadata)
	if len(v.Fields) > 0 {
		return invoiceRequest{}, &ValidationError{Fields: v.Fields}
	}
	out.Metadata = in.Metadata // decoded for this request alone
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	return out, nil
}

// checkID adds a problem unless s is a usable identifier: 1 to
// MaxCustomerIDLen characters, not blank, no control characters at all.
func checkID(v *ValidationError, field, s string) {
	switch n := utf8.RuneCountInString(s); {
	case strings.TrimSpace(s) == "":
		v.add(field, "must not be empty or blank")
	case n > MaxCustomerIDLen:
		v.add(field, "must be at most %d characters, not %d", MaxCustomerIDLen, n)
	case strings.ContainsFunc(s, unicode.IsControl):
		v.add(field, "must not contain control characters")
	}
}

// checkText adds a problem when s is shorter than minLen or longer than
// maxLen characters, or holds control characters.
func checkText(v *ValidationError, field, s string, minLen, maxLen int) {
	if detail, bad := textProblem(s, minLen, maxLen); bad {
		v.add(field, "%s", detail)
	}
}

// textProblem returns what is wrong with s for checkText, if anything.
func textProblem(s string, minLen, maxLen int) (string, bool) {
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen && minLen == 1:
		return "must not be empty", true
	case n > maxLen:
		return fmt.Sprintf("must be at most %d characters, not %d", maxLen, n), true
	case strings.ContainsFunc(s, isForbiddenControl):
		return "must not contain control characters", true
	}
	return "", false
}

// isForbiddenControl allows tabs and line breaks, which free text needs.
func isForbiddenControl(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
}

// checkMetadata adds the problems of md's pairs, in key order.
func checkMetadata(v *ValidationError, md map[string]string) {
	if len(md) > MaxMetadataPairs {
		v.add("metadata", "must have at most %d pairs, not %d", MaxMetadataPairs, len(md))
		return
	}
	var small [MaxMetadataPairs]string
	keys := small[:0]
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch n := utf8.RuneCountInString(k); {
		case n == 0:
			v.add("metadata", "keys must not be empty")
		case n > MaxMetadataKeyLen:
			v.add("metadata", "key %q is longer than %d characters", k, MaxMetadataKeyLen)
		case strings.ContainsFunc(k, unicode.IsControl):
			v.add("metadata", "key %q contains control characters", k)
		}
		if detail, bad := textProblem(md[k], 0, MaxMetadataValueLen); bad {
			v.add("metadata."+k, "%s", detail)
		}
	}
}
