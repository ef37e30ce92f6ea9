package main

import (
	"strconv"
	"strings"
	"testing"
)

// promSelector is a metric a PromQL expression reads, with the label
// values it requires by equality (=); other matchers are left out.
type promSelector struct {
	name   string
	labels map[string]string
}

// promKeywords are the words of PromQL that name no metric: aggregations,
// operators and modifiers, in lower case (PromQL takes them in any case).
var promKeywords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true, "and": true, "or": true, "unless": true, "atan2": true,
	"offset": true, "bool": true, "start": true, "end": true, "inf": true, "nan": true,
}

// promLabelLists are the keywords a list of label names follows.
var promLabelLists = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true}

// promSelectors returns the selectors of expr that name a metric, in
// order: every identifier that is not a keyword, a function (followed by
// "("), a label (in {…} or a label list), a duration ([…], offset), a
// string, a comment or a Grafana variable ($name, ${name}). A metric named
// only by {__name__=…} is not returned.
func promSelectors(expr string) []promSelector {
	l := promLexer{src: expr}
	var out []promSelector
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == '"' || c == '\'' || c == '`':
			l.str()
		case c == '#':
			l.past('\n')
		case c == '[':
			l.past(']')
		case c == '{':
			l.matchers()
		case c == '$':
			if l.pos++; l.peek() == '{' {
				l.past('}')
			} else {
				l.ident()
			}
		case c >= '0' && c <= '9' || c == '.': // a number or a duration
			l.pos++
			l.ident()
		case isNameChar(c):
			if sel, ok := l.word(); ok {
				out = append(out, sel)
			}
		default:
			l.pos++
		}
	}
	return out
}

// promLexer reads a PromQL expression from pos on.
type promLexer struct {
	src string
	pos int
}

// peek returns the byte at pos, or 0 at the end.
func (l *promLexer) peek() byte {
	if l.pos < len(l.src) {
		return l.src[l.pos]
	}
	return 0
}

// past moves past the next end after pos, or to the end.
func (l *promLexer) past(end byte) {
	if i := strings.IndexByte(l.src[min(l.pos+1, len(l.src)):], end); i >= 0 {
		l.pos += i + 2
	} else {
		l.pos = len(l.src)
	}
}

// space moves past blanks.
func (l *promLexer) space() {
	for strings.IndexByte(" \t\r\n", l.peek()) >= 0 {
		l.pos++
	}
}

// isNameChar reports whether c may be part of a metric name (a number's
// letters and a duration's too).
func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':'
}

// ident reads the name characters from pos on and returns them.
func (l *promLexer) ident() string {
	start := l.pos
	for l.pos < len(l.src) && isNameChar(l.src[l.pos]) {
		l.pos++
	}
	return l.src[start:l.pos]
}

// word reads an identifier and returns the selector it starts, if it
// names a metric.
func (l *promLexer) word() (promSelector, bool) {
	w := l.ident()
	l.space()
	switch lw := strings.ToLower(w); {
	case promLabelLists[lw]:
		if l.peek() == '(' {
			l.past(')')
		}
		return promSelector{}, false
	case promKeywords[lw], l.peek() == '(':
		return promSelector{}, false
	}
	sel := promSelector{name: w}
	if l.peek() == '{' {
		sel.labels = l.matchers()
	}
	return sel, true
}

// matchers reads a {…} list of label matchers and returns the labels
// matched by equality.
func (l *promLexer) matchers() map[string]string {
	labels := map[string]string{}
	for l.pos++; l.pos < len(l.src) && l.src[l.pos] != '}'; {
		l.space()
		name := l.ident()
		l.space()
		start := l.pos
		for strings.IndexByte("=!~", l.peek()) >= 0 && l.pos-start < 2 {
			l.pos++
		}
		op := l.src[start:l.pos]
		l.space()
		if q := l.peek(); q == '"' || q == '\'' || q == '`' {
			if v := l.str(); name != "" && op == "=" {
				labels[name] = v
			}
		}
		l.space()
		if c := l.peek(); c != '}' && l.pos < len(l.src) {
			l.pos++ // past a comma, or whatever is amiss
		}
	}
	l.pos = min(l.pos+1, len(l.src))
	return labels
}

// str reads a quoted string and returns its value; one that does not
// unquote is returned as written.
func (l *promLexer) str() string {
	q, start := l.src[l.pos], l.pos+1
	for l.pos = start; l.pos < len(l.src) && l.src[l.pos] != q; l.pos++ {
		if l.src[l.pos] == '\\' && q != '`' {
			l.pos++
		}
	}
	end := min(l.pos, len(l.src))
	l.pos = min(end+1, len(l.src))
	if v, err := strconv.Unquote(`"` + l.src[start:end] + `"`); err == nil && q != '`' {
		return v
	}
	return l.src[start:end]
}

// TestMonitoringPromSelectors checks the names and equality matchers
// found in expressions that use every part of PromQL the lexer passes
// over.
func TestMonitoringPromSelectors(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want []promSelector
	}{
		{`up{job="invoiced"} == 0`, []promSelector{{"up", map[string]string{"job": "invoiced"}}}},
		{`sum by (outcome) (rate(a_total[$__rate_interval]))`, []promSelector{{name: "a_total"}}},
		{`histogram_quantile(0.99, sum by (event_type, le) (rate(h_bucket{a="b", c!="d", e=~"f.*"}[5m])))`,
			[]promSelector{{"h_bucket", map[string]string{"a": "b"}}}},
		{"max by (stream, consumer) (deriv(p[10m])) > 0\nand max by (stream, consumer) (p) > 1000",
			[]promSelector{{name: "p"}, {name: "p"}}},
		{`rate(m{msg="a } b, \"c\"", x='y'}[1m] offset 5m)`, []promSelector{{"m", map[string]string{"msg": `a } b, "c"`, "x": "y"}}}},
		{`foo * on(instance) group_left(role) bar unless ignoring (x) baz`, []promSelector{{name: "foo"}, {name: "bar"}, {name: "baz"}}},
		{"count_values(\"version\", build_info) # not_a_metric", []promSelector{{name: "build_info"}}},
		{`SUM(x) BY (le) / Sum WITHOUT (le) (y)`, []promSelector{{name: "x"}, {name: "y"}}},
		{`label_replace(m, "dst", "$1", "src", "(.*)")`, []promSelector{{name: "m"}}},
		{`histogram_quantile($q, rate(h_bucket{instance=~"$instance"}[${range}]))`, []promSelector{{name: "h_bucket"}}},
		{`job:requests:rate5m > 1.5e-3 and Inf > NaN or vector(0)`, []promSelector{{name: "job:requests:rate5m"}}},
		{`a @ start() - b offset -1h + {__name__="c"}`, []promSelector{{name: "a"}, {name: "b"}}},
		{`topk(5, a)[30m:1m]`, []promSelector{{name: "a"}}},
		{`invoiced_x{a="b"} 1.5e+06 1700000000`, []promSelector{{"invoiced_x", map[string]string{"a": "b"}}}},
	} {
		got := promSelectors(tt.expr)
		same := len(got) == len(tt.want)
		for i := 0; same && i < len(got); i++ {
			same = got[i].name == tt.want[i].name && mapsEqual(got[i].labels, tt.want[i].labels)
		}
		if !same {
			t.Errorf("promSelectors(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// FuzzMonitoringPromSelectors requires every name found to be a metric name of the
// expression, and no expression to make the lexer panic or stall.
func FuzzMonitoringPromSelectors(f *testing.F) {
	for _, q := range monitoringQueries(f) {
		f.Add(q.expr)
	}
	for _, seed := range []string{`m{a="\`, `{`, `$`, `${`, `"`, `sum by (`, `m{a=~`, `[5m`, `x{,,}`, `1e`, "a{b='c\\'}"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		for _, sel := range promSelectors(expr) {
			if sel.name == "" || strings.TrimFunc(sel.name, func(r rune) bool { return r < 128 && isNameChar(byte(r)) }) != "" ||
				promKeywords[strings.ToLower(sel.name)] || !strings.Contains(expr, sel.name) {
				t.Errorf("promSelectors(%q) found %q", expr, sel.name)
			}
		}
	})
}
