package console

import (
	"encoding/binary"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

var chartStart = time.Date(2026, 5, 4, 13, 0, 0, 0, time.UTC)

// minutes returns n minutes from chartStart.
func minutes(n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = chartStart.Add(time.Duration(i) * time.Minute)
	}
	return out
}

// checkSVG fails unless svg is one well-formed svg element whose numbers
// are all finite, and returns its elements' names, counted.
func checkSVG(t testing.TB, svg string) map[string]int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	seen, depth := map[string]int{}, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 && el.Name.Local != "svg" {
				t.Fatalf("starts with <%s>", el.Name.Local)
			}
			depth++
			seen[el.Name.Local]++
			for _, a := range el.Attr {
				if strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf") || strings.HasPrefix(strings.ToLower(a.Name.Local), "on") ||
					a.Name.Local == "style" {
					t.Fatalf("attribute %s=%q", a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 || seen["svg"] != 1 {
		t.Fatalf("unbalanced (%d) or not one svg: %v", depth, seen)
	}
	return seen
}

func TestChartDrawsStackedBarsWithAxesAndLegend(t *testing.T) {
	c := chart{ID: "attempts", Title: "Webhook attempts per minute by outcome", Kind: stackedBars, Counts: true, Times: minutes(60),
		Series: []chartSeries{{Name: "success", Values: make([]float64, 60)}, {Name: "failure", Values: make([]float64, 60)}},
		Note:   "Counted since 13:05 UTC."}
	c.Series[0].Values[42], c.Series[1].Values[42], c.Series[0].Values[3] = 70, 10, 1234
	svg := string(c.SVG())
	seen := checkSVG(t, svg)
	for _, want := range []string{`role="img"`, `aria-labelledby="attempts-title attempts-desc"`, `<title id="attempts-title">Webhook attempts`,
		`>13:10<`, `>13:50<`, `>UTC<`, `>success<`, `>failure<`, `fill="url(#attempts-fill-2)"`, `>1,500<`} {
		if !strings.Contains(svg, want) {
			t.Errorf("lacks %s", want)
		}
	}
	if strings.Contains(svg, `>13:00<`) {
		t.Error("the first minute's label, at the axis's start, overlaps UTC")
	}
	// Bars for two points: two parts at one, one at the other, and the
	// legend's swatches.
	if seen["rect"] != 3+2+1 {
		t.Errorf("%d rects: %v", seen["rect"], seen)
	}
	want := "Last 60 minutes, in UTC: success total 1,304, peak 1,234 at 13:03; failure total 10, peak 10 at 13:42. Counted since 13:05 UTC."
	if got := c.Summary(); got != want {
		t.Errorf("summary %q\nwant    %q", got, want)
	}
	if rows := c.Rows(); len(rows) != 60 || rows[42].Label != "13:42" || rows[42].Values[0] != "70" || rows[3].Values[0] != "1,234" {
		t.Errorf("rows %+v", rows[42])
	}
}

func TestChartDrawsLinesBrokenWhereValuesAreMissing(t *testing.T) {
	nan := math.NaN()
	c := chart{ID: "latency", Title: "Latency", Kind: lines, Unit: "ms", Times: minutes(6),
		Series: []chartSeries{{Name: "p50", Values: []float64{1, 2, nan, 4, nan, 6}}, {Name: "p99", Values: []float64{nan, nan, nan, nan, nan, nan}}}}
	svg := string(c.SVG())
	seen := checkSVG(t, svg)
	// p50: one path of three runs, markers for its two lone points (3, 5)
	// and the legend's two.
	if seen["path"] < 1 || strings.Count(svg, "M") < 3 || strings.Count(svg, `class="marker series-1"`) != 3 {
		t.Errorf("%v\n%s", seen, svg)
	}
	if !strings.Contains(svg, `>13:00<`) || !strings.Contains(svg, `>13:05<`) || !strings.Contains(svg, `>ms<`) {
		t.Errorf("no first and last time labels or no unit:\n%s", svg)
	}
	want := "Last 6 minutes, in UTC: p50 latest 6 ms, highest 6 ms at 13:05; p99 no values."
	if got := c.Summary(); got != want {
		t.Errorf("summary %q", got)
	}
}

func TestChartEscapesEveryText(t *testing.T) {
	evil := `</text><script>alert(1)</script>&"'` + "\x00\x01"
	c := chart{ID: `x" onload="alert(1)`, Title: evil, Unit: evil, Note: evil, Kind: lines, Times: minutes(2),
		Series: []chartSeries{{Name: evil, Values: []float64{1, 2}}}}
	svg := string(c.SVG())
	checkSVG(t, svg)
	if strings.Contains(svg, "<script") || strings.Contains(svg, `" onload`) {
		t.Fatalf("unescaped:\n%s", svg)
	}
	if !strings.Contains(svg, "&lt;script&gt;") {
		t.Fatalf("the text is gone:\n%s", svg)
	}
}

func TestTicksAreRoundAndCoverTheTop(t *testing.T) {
	cases := []struct {
		most       float64
		whole      bool
		step, top  float64
		wantLabels int
	}{
		{0, true, 1, 1, 2},
		{1, true, 1, 1, 2},
		{3, true, 1, 3, 4},
		{80, true, 20, 80, 5},
		{81, true, 20, 100, 6},
		{0.3, false, 0.1, 0.3, 4},
		{1234, true, 500, 1500, 4},
		{drawnLimit, true, 2e14, drawnLimit, 6},
	}
	for _, c := range cases {
		step, top := ticks(c.most, c.whole)
		if math.Abs(step-c.step) > 1e-9*c.step || math.Abs(top-c.top) > 1e-9*c.top || top/step > 5+1e-9 {
			t.Errorf("ticks(%g) = %g, %g; want %g, %g", c.most, step, top, c.step, c.top)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 7: "7", 1234: "1,234", 1234567: "1,234,567", 0.25: "0.25", 2.345: "2.35",
		12.6: "13", -1500: "-1,500", math.NaN(): "—", math.Inf(1): "—", 1e300: "1e+300", -0.4: "-0.4"} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%g) = %q, want %q", v, got, want)
		}
	}
}

var idPattern = regexp.MustCompile(`id="([^"]*)"`)

// FuzzChartSVG draws charts of arbitrary numbers and names: each must be
// well-formed, finite SVG with ids of the chart's alone, and its summary
// and table must cover every point.
func FuzzChartSVG(f *testing.F) {
	f.Add([]byte{}, "a", uint8(0), uint8(1))
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())), "<b>&", uint8(1), uint8(3))
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.Inf(-1))),
		math.Float64bits(math.MaxFloat64)), "x", uint8(0), uint8(2))
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(-5e-324)), "\xff\x00", uint8(1), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, name string, kind, nseries uint8) {
		n := len(data) / 8
		values := make([]float64, n)
		for i := range values {
			values[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
		c := chart{ID: "fz", Title: name, Unit: name, Kind: chartKind(kind % 2), Counts: kind%4 < 2, Times: minutes(max(n, int(nseries%4)))}
		for s := range int(nseries % 8) {
			c.Series = append(c.Series, chartSeries{Name: name, Values: values[min(s, n):]})
		}
		svg := string(c.SVG())
		checkSVG(t, svg)
		for _, m := range idPattern.FindAllStringSubmatch(svg, -1) {
			if !strings.HasPrefix(m[1], "fz-") {
				t.Fatalf("id %q", m[1])
			}
		}
		if rows := c.Rows(); len(rows) != len(c.Times) || len(c.Series) == 0 && !strings.Contains(c.Summary(), ": no values.") {
			t.Fatalf("%d rows for %d points; summary %q", len(rows), len(c.Times), c.Summary())
		}
	})
}
