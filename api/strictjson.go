package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// decodeStrict decodes exactly one JSON object into v. Beyond the standard
// decoder it refuses names that match a field only when case is ignored,
// keys that appear twice in one object (the standard decoder keeps the last
// silently), null values (which it would take as absent), invalid UTF-8 and
// data after the object.
func decodeStrict(body []byte, v any) error {
	if err := checkBodyText(body); err != nil {
		return err
	}
	if err := checkKeys(body, jsonFields(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errTrailingData
	}
	return nil
}

// The errors about a body as a whole, shared by every decoder.
var (
	errEmptyBody    = fmt.Errorf("%w: the body is empty; send a JSON object", ErrInvalid)
	errNotUTF8      = fmt.Errorf("%w: the body is not valid UTF-8", ErrInvalid)
	errTrailingData = fmt.Errorf("%w: unexpected data after the JSON object", ErrInvalid)
)

// checkBodyText refuses a body that is empty or blank, or not valid UTF-8.
func checkBodyText(body []byte) error {
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return errEmptyBody
	case !utf8.Valid(body):
		return errNotUTF8
	}
	return nil
}

// jsonFields returns the JSON names of the fields of the struct v points to.
func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v).Elem()
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}

// keyFrame is one open object or array while checkKeys walks the tokens.
type keyFrame struct {
	object  bool
	path    string // the field path of this value, "" at the top
	lastKey string // in an object, the key whose value is being read
	seen    map[string]bool
	keyNext bool
}

// childPath is the path of a value nested in f.
func (f *keyFrame) childPath() string {
	if !f.object {
		return f.path
	}
	return joinPath(f.path, f.lastKey)
}

func joinPath(path, key string) string {
	if key == "" {
		key = "(empty key)"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkKeys walks the JSON value in body and fails when a top-level key is
// not exactly one of known or when any object repeats a key. Syntax errors
// are left to the decoder, which explains them.
func checkKeys(body []byte, known map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*keyFrame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *keyFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		delim, isDelim := tok.(json.Delim)
		switch {
		case isDelim && (delim == '}' || delim == ']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil
			}
			stack[len(stack)-1].keyNext = true
		case top != nil && top.object && top.keyNext:
			if err := checkKey(top, tok.(string), len(stack) == 1, known); err != nil {
				return err
			}
		case isDelim:
			f := &keyFrame{object: delim == '{', seen: map[string]bool{}, keyNext: true}
			if top != nil {
				f.path = top.childPath()
			}
			stack = append(stack, f)
		case top == nil:
			return nil // a scalar body: the decoder refuses it
		case tok == nil:
			return invalidField(top.childPath(), "must not be null; leave the field out instead")
		default:
			top.keyNext = true
		}
	}
}

// checkKey records key in the object frame f, failing when it is unknown at
// the top level or repeated.
func checkKey(f *keyFrame, key string, topLevel bool, known map[string]bool) error {
	field := joinPath(f.path, key)
	switch {
	case topLevel && !known[key]:
		return invalidField(field, "unknown field")
	case f.seen[key]:
		return invalidField(field, "appears more than once")
	}
	f.seen[key] = true
	f.lastKey, f.keyNext = key, false
	return nil
}
