package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The fields of a POST /invoices body, as bit positions of a set.
const (
	fieldCustomerID = iota
	fieldAmountCents
	fieldCurrency
	fieldDescription
	fieldMetadata
)

// invoiceField returns the field a top-level key names exactly, or -1.
func invoiceField(key []byte) int {
	switch string(key) {
	case "customer_id":
		return fieldCustomerID
	case "amount_cents":
		return fieldAmountCents
	case "currency":
		return fieldCurrency
	case "description":
		return fieldDescription
	case "metadata":
		return fieldMetadata
	}
	return -1
}

// invoiceParser decodes a POST /invoices body in a single pass. It accepts
// and refuses what decodeStrict does with a struct of pointer fields tagged
// with the same names, with the same errors: first a key or null problem
// (checkKeys), then malformed JSON, then the first value of the wrong type,
// then data after the object.
type invoiceParser struct {
	jsonScanner
	fields  invoiceFields
	typeErr error // the first value of the wrong type
}

// parse decodes body.
func (p *invoiceParser) parse(body []byte) (invoiceFields, error) {
	if err := checkBodyText(body); err != nil {
		return invoiceFields{}, err
	}
	p.data, p.walk = body, true
	err := p.document()
	if errors.Is(err, errMalformed) {
		err = explainMalformed(body)
	}
	if err != nil {
		return invoiceFields{}, err
	}
	return p.fields, nil
}

// explainMalformed words the syntax error of a body that is not well-formed
// JSON exactly as decodeStrict does.
func explainMalformed(body []byte) error {
	var raw json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&raw); err != nil {
		return jsonError(err)
	}
	return fmt.Errorf("%w: malformed JSON", ErrInvalid)
}

// document reads the body's JSON value and what follows it. A null body
// decodes to an empty one, as with encoding/json.
func (p *invoiceParser) document() error {
	p.skipSpace()
	switch p.peek() {
	case '{':
		if err := p.object(); err != nil {
			return err
		}
	case 'n':
		if err := p.literal("null"); err != nil {
			return err
		}
	default:
		kind, err := p.skipValue("", 0)
		switch {
		case err != nil:
			return err
		case p.tooDeep:
			return errMalformed
		}
		return notAnObject(kind)
	}
	switch {
	case p.tooDeep:
		return errMalformed
	case p.typeErr != nil:
		return p.typeErr
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return errTrailingData
	}
	return nil
}

// object reads the top-level object, whose '{' is at the read position.
func (p *invoiceParser) object() error {
	p.pos++
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		return nil
	}
	var seen uint8
	for {
		p.skipSpace()
		key, err := p.str()
		if err != nil {
			return err
		}
		f := invoiceField(key)
		if p.walk {
			if err := checkInvoiceKey(f, key, &seen); err != nil {
				return err
			}
		}
		if err := p.skipSpaceAnd(':'); err != nil {
			return err
		}
		if err := p.field(f); err != nil {
			return err
		}
		if more, err := p.afterMember('}'); !more {
			return err
		}
	}
}

// checkInvoiceKey refuses a top-level key that names no field exactly or
// that seen holds already, and adds it to seen.
func checkInvoiceKey(f int, key []byte, seen *uint8) error {
	switch {
	case f < 0:
		return invalidField(joinPath("", string(key)), "unknown field")
	case *seen&(1<<f) != 0:
		return invalidField(string(key), "appears more than once")
	}
	*seen |= 1 << f
	return nil
}

// afterMember reads the comma, reported as true, or the closing byte that
// follows a member of an object.
func (p *invoiceParser) afterMember(closer byte) (bool, error) {
	p.skipSpace()
	switch p.next() {
	case ',':
		return true, nil
	case closer:
		return false, nil
	}
	return false, errMalformed
}

// field reads the value of the top-level field f. A key that names no
// field gets here only once the key checks have stopped, when a type error
// is already recorded.
func (p *invoiceParser) field(f int) error {
	p.skipSpace()
	switch f {
	case fieldCustomerID:
		return p.text("customer_id", &p.fields.CustomerID, &p.fields.HasCustomerID)
	case fieldAmountCents:
		return p.amount()
	case fieldCurrency:
		return p.text("currency", &p.fields.Currency, &p.fields.HasCurrency)
	case fieldDescription:
		return p.text("description", &p.fields.Description, &p.fields.HasDescription)
	case fieldMetadata:
		return p.metadata()
	}
	_, err := p.skipValue("", 1)
	return err
}

// text reads the value of the string field name into dst and records that
// it is present.
func (p *invoiceParser) text(name string, dst *string, has *bool) error {
	switch p.peek() {
	case '"':
		b, err := p.str()
		if err != nil {
			return err
		}
		*dst, *has = string(b), true
		return nil
	case 'n':
		return p.null(name)
	}
	return p.mismatch(name, name, 1, "string")
}

// amount reads the value of amount_cents, which must be a JSON number that
// strconv.ParseInt accepts, as encoding/json requires of an int64.
func (p *invoiceParser) amount() error {
	const name = "amount_cents"
	switch c := p.peek(); {
	case c == 'n':
		return p.null(name)
	case c != '-' && (c < '0' || c > '9'):
		return p.mismatch(name, name, 1, "int64")
	}
	lit, err := p.number()
	if err != nil {
		return err
	}
	n, ok := parseInt64(lit)
	if !ok {
		p.typeError(name, "int64", "number "+string(lit))
		return nil
	}
	p.fields.AmountCents, p.fields.HasAmountCents = n, true
	return nil
}

// metadata reads the value of metadata, an object of strings.
func (p *invoiceParser) metadata() error {
	const name = "metadata"
	switch p.peek() {
	case '{':
	case 'n':
		return p.null(name)
	default:
		return p.mismatch(name, name, 1, "map")
	}
	p.pos++
	md := make(map[string]string)
	p.fields.Metadata = md
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		return nil
	}
	for {
		if err := p.metadataPair(md); err != nil {
			return err
		}
		if more, err := p.afterMember('}'); !more {
			return err
		}
	}
}

// metadataPair reads one key and value of metadata into md. A key whose
// value is not a string still counts for the duplicate check.
func (p *invoiceParser) metadataPair(md map[string]string) error {
	p.skipSpace()
	k, err := p.str()
	if err != nil {
		return err
	}
	key := string(k)
	if _, dup := md[key]; dup && p.walk {
		return invalidField(joinPath("metadata", key), "appears more than once")
	}
	if err := p.skipSpaceAnd(':'); err != nil {
		return err
	}
	p.skipSpace()
	switch p.peek() {
	case '"':
		v, err := p.str()
		if err != nil {
			return err
		}
		md[key] = string(v)
		return nil
	case 'n':
		err = p.null(joinPath("metadata", key))
	default:
		err = p.mismatch("metadata", joinPath("metadata", key), 2, "string")
	}
	md[key] = ""
	return err
}

// null reads a null value, which the key checks refuse at path.
func (p *invoiceParser) null(path string) error {
	if err := p.literal("null"); err != nil {
		return err
	}
	if p.walk {
		return invalidField(path, nullDetail)
	}
	return nil
}

// mismatch skips a value, at path and depth containers deep, that cannot
// be decoded into field, which wants a Go value of kind want, and records
// the type error.
func (p *invoiceParser) mismatch(field, path string, depth int, want string) error {
	kind, err := p.skipValue(path, depth)
	if err != nil {
		return err
	}
	p.typeError(field, want, kind)
	return nil
}

// typeError records a value of kind got where field wants a Go value of
// kind want, unless an earlier value did so already.
func (p *invoiceParser) typeError(field, want, got string) {
	if p.typeErr == nil {
		p.typeErr = wrongType(field, want, got)
	}
}
