package events

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// htmlSafe reports, for each ASCII byte, whether encoding/json writes it in
// a string as it is: printable, and neither a quote, a backslash nor one of
// the HTML characters <, > and &.
var htmlSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		safe[c] = !strings.ContainsRune(`"\<>&`, c)
	}
	return safe
}()

const hexDigits = "0123456789abcdef"

// appendString appends s quoted and escaped as encoding/json escapes strings
// with HTML escaping on: short escapes for \b \f \n \r \t " and \, \u00XX
// for the other control characters and for < > &, \u2028 and \u2029
// escaped, and each byte of invalid UTF-8 replaced by \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscapedByte(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEscapedByte appends the escape of an ASCII byte that is not written
// as it is.
func appendEscapedByte(b []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// stringClass sorts the bytes of a JSON string: 0 for ASCII that stands for
// itself, and otherwise one of the classes below.
var stringClass = func() (class [256]byte) {
	for c := range class {
		switch {
		case c == '"':
			class[c] = classQuote
		case c == '\\':
			class[c] = classEscape
		case c < ' ':
			class[c] = classControl
		case c >= utf8.RuneSelf:
			class[c] = classUnicode
		}
	}
	return class
}()

const (
	classQuote = 1 + iota
	classEscape
	classControl
	classUnicode
)

// stringToken consumes the string whose opening quote is next and returns
// the bytes between its quotes, as ScanString does.
func (d *decoder) stringToken() (raw []byte, plain, ok bool) {
	raw, end, plain, ok := scanString(d.data, d.pos)
	if ok {
		d.pos = end
	}
	return raw, plain, ok
}

// scanString is ScanString.
func scanString(data []byte, pos int) (raw []byte, end int, plain, ok bool) {
	start := pos + 1
	plain = true
	i := start
	for {
		for i < len(data) && stringClass[data[i]] == 0 {
			i++
		}
		if i >= len(data) {
			return nil, pos, false, false
		}
		switch stringClass[data[i]] {
		case classQuote:
			return data[start:i], i + 1, plain, true
		case classEscape:
			n := escapeLen(data[i:])
			if n == 0 {
				return nil, pos, false, false
			}
			i += n
		case classControl:
			return nil, pos, false, false
		default:
			i++
		}
		plain = false
	}
}

// escapeLen returns the length of the escape s starts with, or 0 when it is
// not one JSON allows.
func escapeLen(s []byte) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if hex4(s) >= 0 {
			return 6
		}
	}
	return 0
}

// hex4 returns the code unit of the \uXXXX escape s starts with, or -1 when
// s does not start with one.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// text returns the value of a string whose bytes between the quotes
// stringToken returned as raw and plain.
func text(raw []byte, plain bool) string {
	if plain {
		return string(raw)
	}
	return unquote(raw)
}

// unquote returns the value of the string whose valid bytes between the
// quotes are s (AppendUnquoted).
func unquote(s []byte) string {
	b := appendUnquoted(make([]byte, 0, len(s)), s)
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is not kept
}

// appendUnquoted is AppendUnquoted.
func appendUnquoted(dst, s []byte) []byte {
	for len(s) > 0 {
		run := bytes.IndexByte(s, '\\')
		if run < 0 {
			run = len(s)
		}
		dst = appendUTF8(dst, s[:run])
		s = s[run:]
		if len(s) > 0 {
			var n int
			dst, n = appendEscape(dst, s)
			s = s[n:]
		}
	}
	return dst
}

// appendUTF8 appends s with each byte of invalid UTF-8 replaced by U+FFFD.
func appendUTF8(dst, s []byte) []byte {
	if utf8.Valid(s) {
		return append(dst, s...)
	}
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		dst = utf8.AppendRune(dst, r)
		s = s[size:]
	}
	return dst
}

// simpleEscapes maps the byte after a backslash to what it stands for, for
// every escape but \u.
var simpleEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// appendEscape appends the value of the valid escape s starts with and
// returns how many bytes of s it read: a \u escape of a surrogate joined
// with a second escape that completes the pair, or else U+FFFD.
func appendEscape(dst, s []byte) ([]byte, int) {
	if e := simpleEscapes[s[1]]; e != 0 {
		return append(dst, e), 2
	}
	r := hex4(s)
	if !utf16.IsSurrogate(r) {
		return utf8.AppendRune(dst, r), 6
	}
	if pair := utf16.DecodeRune(r, hex4(s[6:])); pair != unicode.ReplacementChar {
		return utf8.AppendRune(dst, pair), 12
	}
	return utf8.AppendRune(dst, unicode.ReplacementChar), 6
}
