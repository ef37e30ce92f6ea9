package api

// maxJSONDepth is how deeply encoding/json lets arrays and objects nest.
const maxJSONDepth = 10000

// nullDetail is the problem with a null value anywhere in a body.
const nullDetail = "must not be null; leave the field out instead"

// jsonKind names the kind of the value that starts with c as the type
// errors of encoding/json do, or returns "" when no value starts with c.
func jsonKind(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	case c == '-' || '0' <= c && c <= '9':
		return "number"
	}
	return ""
}

// skipValue moves past the value at the read position, which sits depth
// arrays and objects deep at the field path base, and returns its kind. It
// checks the value as checkKeys does: no null anywhere, no key twice in one
// object.
func (s *jsonScanner) skipValue(base string, depth int) (string, error) {
	kind := jsonKind(s.peek())
	if kind == "" {
		return "", errMalformed
	}
	w := valueWalker{base: base, depth: depth}
	return kind, w.run(s)
}

// walkFrame is one open array or object of a value being skipped.
type walkFrame struct {
	object bool
	keys   int
	key    string              // in an object, the key whose value is read
	seen   map[string]struct{} // the keys so far, once there are two
}

// addKey records key in the object f and reports whether f had it already.
func (f *walkFrame) addKey(key string) bool {
	switch {
	case f.keys == 1 && f.key == key:
		return true
	case f.keys == 1:
		f.seen = map[string]struct{}{f.key: {}, key: {}}
	case f.keys > 1:
		if _, dup := f.seen[key]; dup {
			return true
		}
		f.seen[key] = struct{}{}
	}
	f.key = key
	f.keys++
	return false
}

// closer is the byte that ends the array or object of f.
func (f *walkFrame) closer() byte {
	if f.object {
		return '}'
	}
	return ']'
}

// valueWalker skips one value of a scanner without recursion, so that
// nesting costs only a frame per level.
type valueWalker struct {
	base  string
	depth int
	stack []walkFrame
}

// run moves s past the whole value.
func (w *valueWalker) run(s *jsonScanner) error {
	for {
		opened, err := w.value(s)
		if err != nil {
			return err
		}
		if opened {
			closed, err := w.begin(s)
			if err != nil {
				return err
			}
			if !closed {
				continue
			}
		}
		for more := false; !more; {
			if len(w.stack) == 0 {
				return nil
			}
			if more, err = w.end(s); err != nil {
				return err
			}
		}
	}
}

// value reads a scalar, or opens an array or object and reports so.
func (w *valueWalker) value(s *jsonScanner) (bool, error) {
	s.skipSpace()
	switch c := s.peek(); c {
	case '{', '[':
		s.pos++
		w.stack = append(w.stack, walkFrame{object: c == '{'})
		if w.depth+len(w.stack) > maxJSONDepth {
			s.tooDeep = true
		}
		return true, nil
	case 'n':
		if err := s.literal("null"); err != nil {
			return false, err
		}
		if s.walk {
			return false, invalidField(w.path(len(w.stack)), nullDetail)
		}
		return false, nil
	}
	return false, s.scalar()
}

// begin reads what follows the opening of an array or object: its end,
// reported as true, or else the first key of an object.
func (w *valueWalker) begin(s *jsonScanner) (bool, error) {
	top := &w.stack[len(w.stack)-1]
	s.skipSpace()
	if s.peek() == top.closer() {
		s.pos++
		w.stack = w.stack[:len(w.stack)-1]
		return true, nil
	}
	if top.object {
		return false, w.key(s)
	}
	return false, nil
}

// end reads what follows a value in an array or object: a comma, with the
// next key of an object, reported as true, or the end of the container.
func (w *valueWalker) end(s *jsonScanner) (bool, error) {
	top := &w.stack[len(w.stack)-1]
	s.skipSpace()
	switch c := s.next(); {
	case c == ',' && top.object:
		return true, w.key(s)
	case c == ',':
		return true, nil
	case c == top.closer():
		w.stack = w.stack[:len(w.stack)-1]
		return false, nil
	}
	return false, errMalformed
}

// key reads an object key and the colon after it.
func (w *valueWalker) key(s *jsonScanner) error {
	s.skipSpace()
	k, err := s.str()
	if err != nil {
		return err
	}
	if s.walk {
		key := string(k)
		if w.stack[len(w.stack)-1].addKey(key) {
			return invalidField(joinPath(w.path(len(w.stack)-1), key), "appears more than once")
		}
	}
	return s.skipSpaceAnd(':')
}

// path is the field path of a value in the first n open containers.
func (w *valueWalker) path(n int) string {
	p := w.base
	for _, f := range w.stack[:n] {
		if f.object {
			p = joinPath(p, f.key)
		}
	}
	return p
}

// scalar moves past a string, number, true, false or null.
func (s *jsonScanner) scalar() error {
	var err error
	switch s.peek() {
	case '"':
		_, err = s.str()
	case 't':
		err = s.literal("true")
	case 'f':
		err = s.literal("false")
	case 'n':
		err = s.literal("null")
	default:
		_, err = s.number()
	}
	return err
}
