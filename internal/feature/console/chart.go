package console

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// chartKind is how a chart draws its series.
type chartKind int

const (
	// stackedBars draws one bar per point, the series stacked in order.
	stackedBars chartKind = iota
	// lines draws each series as a line, broken where it has no value.
	lines
)

// chartSeries is one named row of a chart's values, one per point; NaN
// (or an infinity) is no value there.
type chartSeries struct {
	Name   string
	Values []float64
}

// chart is one chart: series over points in time, drawn as SVG by its
// SVG method, summed up in words by Summary and listed by Rows.
type chart struct {
	// ID prefixes the ids of its elements; anything but letters, digits
	// and dashes is replaced.
	ID    string
	Title string
	Kind  chartKind
	// Counts says the values are whole counts that add up: the summary
	// gives totals and the axis whole steps.
	Counts bool
	// Unit follows values in words and heads the value axis ("ms").
	Unit string
	// Times are the points' instants, shown as HH:MM in UTC.
	Times  []time.Time
	Series []chartSeries
	// Note ends the summary: what a reader should know of the data.
	Note string
}

// chartRow is one point's values as the chart's table shows them.
type chartRow struct {
	Label  string
	Values []string
}

// drawnLimit bounds the values drawn, so the geometry stays finite;
// tables and summaries show values as they are.
const drawnLimit = 1e15

// value returns series s's value at point i and whether it has one;
// values below zero are drawn as zero and those beyond drawnLimit at it.
func (c chart) value(s, i int) (float64, bool) {
	vs := c.Series[s].Values
	if i >= len(vs) || math.IsNaN(vs[i]) || math.IsInf(vs[i], 0) {
		return 0, false
	}
	return min(max(vs[i], 0), drawnLimit), true
}

// top returns the largest value drawn: of a point's stack for stacked
// bars, of any value for lines; 0 without values.
func (c chart) top() float64 {
	most := 0.0
	for i := range c.Times {
		sum := 0.0
		for s := range c.Series {
			v, ok := c.value(s, i)
			if !ok {
				continue
			}
			if c.Kind == lines {
				most = max(most, v)
			}
			sum += v
		}
		if c.Kind == stackedBars {
			most = max(most, sum)
		}
	}
	return most
}

// ticks returns the value axis' step and its top, a whole number of steps
// of 1, 2 or 5 times a power of ten, at most five, covering most.
func ticks(most float64, whole bool) (step, top float64) {
	if !(most > 1e-9) { // none, or too small to draw
		return 1, 1
	}
	raw := most / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, f := range []float64{1, 2, 5} {
		if f*mag >= raw {
			step = f * mag
			break
		}
	}
	if whole {
		step = max(step, 1)
	}
	return step, math.Ceil(most/step-1e-9) * step
}

// Summary says in words what the chart shows: for each series its total
// (of counts) or its latest value, and its peak, then the note.
func (c chart) Summary() string {
	var b strings.Builder
	b.WriteString("Last " + plural(len(c.Times), "minute", "minutes") + ", in UTC: ")
	if len(c.Series) == 0 {
		b.WriteString("no values")
	}
	for s, series := range c.Series {
		if s > 0 {
			b.WriteString("; ")
		}
		if len(c.Series) > 1 {
			b.WriteString(series.Name + " ")
		}
		b.WriteString(c.seriesSummary(s))
	}
	b.WriteString(".")
	if c.Note != "" {
		b.WriteString(" " + c.Note)
	}
	return b.String()
}

// seriesSummary sums up series s: "total 12, peak 5 at 13:42".
func (c chart) seriesSummary(s int) string {
	total, peak, peakAt, latest, seen := 0.0, math.Inf(-1), -1, math.NaN(), 0
	for i, v := range c.Series[s].Values {
		if i >= len(c.Times) || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		seen++
		total, latest = total+v, v
		if v > peak {
			peak, peakAt = v, i
		}
	}
	switch {
	case seen == 0:
		return "no values"
	case c.Counts && total == 0:
		return "total 0"
	case c.Counts:
		return "total " + formatValue(total) + ", peak " + c.withUnit(peak) + " at " + minuteLabel(c.Times[peakAt])
	}
	return "latest " + c.withUnit(latest) + ", highest " + c.withUnit(peak) + " at " + minuteLabel(c.Times[peakAt])
}

// withUnit shows v followed by the chart's unit.
func (c chart) withUnit(v float64) string {
	if c.Unit == "" {
		return formatValue(v)
	}
	return formatValue(v) + " " + c.Unit
}

// Rows returns the chart's points as its table lists them, oldest first.
func (c chart) Rows() []chartRow {
	out := make([]chartRow, len(c.Times))
	for i, t := range c.Times {
		out[i] = chartRow{Label: minuteLabel(t), Values: make([]string, len(c.Series))}
		for s, series := range c.Series {
			v := math.NaN()
			if i < len(series.Values) {
				v = series.Values[i]
			}
			out[i].Values[s] = formatValue(v)
		}
	}
	return out
}

// Columns returns the series' names, the table's columns after the time.
func (c chart) Columns() []string {
	out := make([]string, len(c.Series))
	for i, s := range c.Series {
		out[i] = s.Name
		if c.Unit != "" {
			out[i] += " (" + c.Unit + ")"
		}
	}
	return out
}

// minuteLabel shows t as HH:MM in UTC.
func minuteLabel(t time.Time) string { return t.UTC().Format("15:04") }

// formatValue shows v for people: whole numbers with thousands separated
// ("1,234"), fractions to two places at most, "—" for no value.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case math.Abs(v) >= drawnLimit:
		return strconv.FormatFloat(v, 'g', 3, 64)
	case math.Abs(v) < 10 && v != math.Trunc(v):
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	}
	digits := strconv.FormatInt(int64(math.Abs(math.Round(v))), 10)
	var b strings.Builder
	if v < 0 && digits != "0" {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}
