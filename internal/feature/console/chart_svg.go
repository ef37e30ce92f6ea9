package console

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"unicode/utf8"
)

// The chart's geometry, in the SVG's own units; the page scales it.
const (
	chartWidth, chartHeight   = 600.0, 240.0
	plotLeft, plotRight       = 64.0, chartWidth - 12
	plotTop, plotBottom       = 40.0, chartHeight - 30
	chartSeriesStyles         = 5 // series-1 … series-5 in console.css, then again
	legendY, legendSwatchSize = 16.0, 12.0
)

// SVG returns the chart as an inline SVG image: a title and a description
// that name it, a legend, the value axis with a few labelled steps, the
// time axis labelled every ten minutes, and the series. Every text is
// escaped; colours and dashes come from console.css's classes.
func (c chart) SVG() template.HTML {
	id := safeID(c.ID)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-title %s-desc" id="%s-svg">`,
		chartWidth, chartHeight, id, id, id)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(c.Title), id, esc(c.Summary()))
	if c.Kind == stackedBars {
		c.patterns(&b, id)
	}
	c.legend(&b, id)
	step, top := ticks(c.top(), c.Counts)
	c.valueAxis(&b, step, top)
	c.timeAxis(&b)
	b.WriteString(`<g class="chart-data">`)
	if c.Kind == stackedBars {
		c.bars(&b, id, top)
	} else {
		c.lines(&b, top)
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String()) //nolint:gosec // built of escaped text and numbers alone
}

// styleOf returns the class naming series s's colour and dashes.
func styleOf(s int) string { return fmt.Sprintf("series-%d", s%chartSeriesStyles+1) }

// barOf returns the class, or fill, of series s's bars: the first plain
// in its colour, the others hatched in theirs, so they differ without
// colour. A pattern's fill is an attribute, as a class would outrank it.
func barOf(id string, s int) string {
	if s%chartSeriesStyles == 0 {
		return `class="bar ` + styleOf(s) + `"`
	}
	return fmt.Sprintf(`class="bar" fill="url(#%s-fill-%d)"`, id, s%chartSeriesStyles+1)
}

// patterns defines the hatched fills of stacked bars.
func (c chart) patterns(b *strings.Builder, id string) {
	marks := []string{"", `<path d="M0 6L6 0" class="hatch"/>`, `<path d="M0 3H6M3 0V6" class="hatch"/>`,
		`<circle cx="3" cy="3" r="1.2" class="dot"/>`, `<path d="M0 0L6 6" class="hatch"/>`}
	b.WriteString(`<defs>`)
	for s := 1; s < min(len(c.Series), chartSeriesStyles); s++ {
		fmt.Fprintf(b, `<pattern id="%s-fill-%d" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" class="%s"/>%s</pattern>`,
			id, s+1, styleOf(s), marks[s])
	}
	b.WriteString(`</defs>`)
}

// legend names each series beside a swatch drawn as its bars or its line.
func (c chart) legend(b *strings.Builder, id string) {
	b.WriteString(`<g class="chart-legend">`)
	x := plotLeft
	for s, series := range c.Series {
		if c.Kind == stackedBars {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%g" height="%g" %s/>`,
				x, legendY-legendSwatchSize+2, legendSwatchSize, legendSwatchSize, barOf(id, s))
		} else {
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="line %s"/>`, x, legendY-4, x+22, legendY-4, styleOf(s))
			marker(b, s, x+11, legendY-4)
		}
		name := esc(series.Name)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`, x+28, legendY, name)
		x += 44 + 7*float64(len([]rune(series.Name)))
	}
	b.WriteString(`</g>`)
}

// valueAxis draws the grid lines and labels of the value axis, 0 to top
// by step, and the unit above them.
func (c chart) valueAxis(b *strings.Builder, step, top float64) {
	b.WriteString(`<g class="chart-axis">`)
	for i := 0; i <= 5 && float64(i)*step <= top*(1+1e-9); i++ {
		v := float64(i) * step
		y := yOf(v, top)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, plotLeft, y, plotRight, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, plotLeft-6, y+4, esc(formatValue(v)))
	}
	if c.Unit != "" {
		fmt.Fprintf(b, `<text x="2" y="%.1f">%s</text>`, plotTop-12, esc(c.Unit))
	}
	b.WriteString(`</g>`)
}

// timeAxis draws the time axis, with a labelled tick at each point on a
// whole ten minutes, or at the first and last when that makes fewer than
// two.
func (c chart) timeAxis(b *strings.Builder) {
	b.WriteString(`<g class="chart-axis">`)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, plotLeft, plotBottom, plotRight, plotBottom)
	var at []int
	for i, t := range c.Times {
		if t.UTC().Minute()%10 == 0 {
			at = append(at, i)
		}
	}
	if len(at) < 2 && len(c.Times) > 0 {
		at = slices.Compact([]int{0, len(c.Times) - 1})
	}
	for _, i := range at {
		// A label this near the axis's start would overlap "UTC".
		if c.xOf(i) >= plotLeft+20 {
			c.timeTick(b, i)
		}
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">UTC</text>`, plotLeft-6, plotBottom+18)
	b.WriteString(`</g>`)
}

func (c chart) timeTick(b *strings.Builder, i int) {
	x := c.xOf(i)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, x, plotBottom, x, plotBottom+4)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, plotBottom+18, esc(minuteLabel(c.Times[i])))
}

// bars draws a stacked bar per point, each series' part in its style.
func (c chart) bars(b *strings.Builder, id string, top float64) {
	slot := (plotRight - plotLeft) / float64(max(len(c.Times), 1))
	for i := range c.Times {
		base := 0.0
		for s := range c.Series {
			v, ok := c.value(s, i)
			if !ok || v <= 0 {
				continue
			}
			y0, y1 := yOf(base, top), yOf(base+v, top)
			base += v
			fmt.Fprintf(b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" %s/>`,
				plotLeft+float64(i)*slot+slot*0.1, y1, slot*0.8, max(y0-y1, 0), barOf(id, s))
		}
	}
}

// lines draws each series as a path broken where it has no value, with a
// marker on each point that has no neighbour to join.
func (c chart) lines(b *strings.Builder, top float64) {
	for s := range c.Series {
		var d strings.Builder
		joined := false
		for i := range c.Times {
			v, ok := c.value(s, i)
			if !ok {
				joined = false
				continue
			}
			cmd := "L"
			if !joined {
				cmd = "M"
				if _, next := c.value(s, i+1); !next || i+1 >= len(c.Times) {
					marker(b, s, c.xOf(i), yOf(v, top))
				}
			}
			fmt.Fprintf(&d, "%s%.2f %.2f", cmd, c.xOf(i), yOf(v, top))
			joined = true
		}
		if d.Len() > 0 {
			fmt.Fprintf(b, `<path d="%s" class="line %s"/>`, d.String(), styleOf(s))
		}
	}
}

// marker draws series s's point marker at x, y: a shape of its own, so
// lone points differ without colour.
func marker(b *strings.Builder, s int, x, y float64) {
	switch s % chartSeriesStyles {
	case 0:
		fmt.Fprintf(b, `<circle cx="%.2f" cy="%.2f" r="3" class="marker %s"/>`, x, y, styleOf(s))
	case 1:
		fmt.Fprintf(b, `<rect x="%.2f" y="%.2f" width="6" height="6" class="marker %s"/>`, x-3, y-3, styleOf(s))
	default:
		fmt.Fprintf(b, `<path d="M%.2f %.2fl3.5 6h-7z" class="marker %s"/>`, x, y-3.5, styleOf(s))
	}
}

// xOf returns the middle of point i's slot.
func (c chart) xOf(i int) float64 {
	slot := (plotRight - plotLeft) / float64(max(len(c.Times), 1))
	return plotLeft + (float64(i)+0.5)*slot
}

// yOf returns the height of v on an axis from 0 to top.
func yOf(v, top float64) float64 {
	return plotBottom - (plotBottom-plotTop)*min(max(v/top, 0), 1)
}

// safeID returns id with anything but letters, digits and dashes replaced.
func safeID(id string) string {
	if id == "" {
		return "chart"
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, id)
}

// esc escapes text for SVG within HTML, and replaces the characters XML
// does not allow, so the image is well-formed XML too.
func esc(s string) string {
	return template.HTMLEscapeString(strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0xFFFE && r <= 0xFFFF || r >= 0xD800 && r <= 0xDFFF {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError))))
}
