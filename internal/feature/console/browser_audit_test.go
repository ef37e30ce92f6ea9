package console_test

import (
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// audit checks each page the journey reaches for what a screen reader, a
// keyboard and a weak eye need, and keeps the figures for the report.
type audit struct {
	pages    int
	controls int // form controls whose accessible name was checked
	texts    int // text elements whose contrast was measured
	lowest   contrastSample
}

// contrastSample is one text element's contrast against its background.
type contrastSample struct {
	Ratio float64 `json:"ratio"`
	Need  float64 `json:"need"` // 4.5, or 3 for large text
	What  string  `json:"what"`
	Page  string  `json:"page"`
}

func (s contrastSample) String() string {
	return fmt.Sprintf("%.2f:1 (needs %.1f:1) on %s: %s", s.Ratio, s.Need, s.Page, s.What)
}

// namesReport is what accessibleNamesJS finds.
type namesReport struct {
	Checked int      `json:"checked"`
	Unnamed []string `json:"unnamed"`
}

// contrastReport is what contrastJS finds.
type contrastReport struct {
	Checked  int              `json:"checked"`
	Lowest   contrastSample   `json:"lowest"`
	Failures []contrastSample `json:"failures"`
}

// page audits the page b shows, which the journey calls name, and returns
// its lowest contrast ratio.
func (a *audit) page(b *tab, name string) float64 {
	b.t.Helper()
	a.pages++
	names := eval[namesReport](b, accessibleNamesJS)
	a.controls += names.Checked
	for _, u := range names.Unnamed {
		b.t.Errorf("%s: control without an accessible name: %s", name, u)
	}
	contrast := eval[contrastReport](b, contrastJS)
	if contrast.Checked == 0 {
		b.t.Errorf("%s: no visible text to measure", name)
		return 0
	}
	a.texts += contrast.Checked
	for _, f := range contrast.Failures {
		f.Page = name
		b.t.Errorf("%s: contrast too low: %s", name, f)
	}
	contrast.Lowest.Page = name
	if a.lowest.Ratio == 0 || contrast.Lowest.Ratio < a.lowest.Ratio {
		a.lowest = contrast.Lowest
	}
	return contrast.Lowest.Ratio
}

// report logs the figures of every page audited.
func (a *audit) report(b *tab) {
	b.t.Helper()
	b.t.Logf("accessibility: %d pages, %d controls named, %d text elements measured; lowest contrast %s",
		a.pages, a.controls, a.texts, a.lowest)
}

// accessibleNamesJS lists every visible-to-assistive-technology control
// (input but hidden ones, select, textarea, button) without an accessible
// name: no aria-label, no aria-labelledby text, no <label> (for= or
// wrapping) and, for a button, no text.
const accessibleNamesJS = `(() => {
  const describe = (el) => el.outerHTML.slice(0, 160);
  const text = (el) => (el ? el.textContent : "").replace(/\s+/g, " ").trim();
  const out = { checked: 0, unnamed: [] };
  for (const el of document.querySelectorAll("input, select, textarea, button")) {
    if (el.type === "hidden") continue;
    out.checked++;
    let name = (el.getAttribute("aria-label") || "").trim();
    if (!name && el.hasAttribute("aria-labelledby")) {
      name = el.getAttribute("aria-labelledby").split(/\s+/).map((id) => text(document.getElementById(id))).join(" ").trim();
    }
    if (!name && el.labels) name = Array.from(el.labels).map(text).join(" ").trim();
    if (!name && el.tagName === "BUTTON") name = text(el);
    if (!name) out.unnamed.push(describe(el));
  }
  return out;
})()`

// contrastJS measures, for every visible element with its own text and
// every visible text field, the WCAG contrast ratio of its color against
// its effective background: the background colors of it and its ancestors
// composed up to the first opaque one, over white. It returns the lowest
// ratio and every element below 4.5:1, or 3:1 for large text (24px, or
// 18.66px bold).
const contrastJS = `(() => {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    return layers.reduceRight((under, top) => over(top, under), { r: 255, g: 255, b: 255, a: 1 });
  };
  const channel = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const ratio = (x, y) => {
    const a = luminance(x), b = luminance(y);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const visible = (el) => {
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0;
  };
  const ownText = (el) => Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== "");
  const field = 'input:not([type="hidden"]):not([type="checkbox"]):not([type="radio"]), select, textarea';
  const describe = (el, fg, bg) => {
    const id = el.id ? "#" + el.id : "";
    const cls = el.classList.length ? "." + Array.from(el.classList).join(".") : "";
    const words = (el.value || el.textContent).replace(/\s+/g, " ").trim().slice(0, 50);
    const rgb = (c) => "rgb(" + [c.r, c.g, c.b].map(Math.round).join(",") + ")";
    return el.tagName.toLowerCase() + id + cls + " \"" + words + "\" " + rgb(fg) + " on " + rgb(bg);
  };
  const out = { checked: 0, lowest: null, failures: [] };
  for (const el of document.body.querySelectorAll("*")) {
    if (!(ownText(el) || el.matches(field)) || !visible(el)) continue;
    const style = getComputedStyle(el);
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    const sample = { ratio: ratio(fg, bg), need: need, what: describe(el, fg, bg) };
    out.checked++;
    if (!out.lowest || sample.ratio < out.lowest.ratio) out.lowest = sample;
    if (sample.ratio < need) out.failures.push(sample);
  }
  return out;
})()`

// tabTo presses Tab until the element with id has the focus, at most max
// times, and returns the ids (or tags) focused on the way.
func (b *tab) tabTo(id string, max int) []string {
	b.t.Helper()
	var path []string
	for range max {
		b.do("press Tab", chromedp.KeyEvent("\t"))
		focused := eval[string](b, `(() => { const e = document.activeElement; return e.id || e.tagName.toLowerCase() + " " + JSON.stringify(e.textContent.trim()); })()`)
		path = append(path, focused)
		if focused == id {
			return path
		}
	}
	b.t.Fatalf("%d presses of Tab never reached #%s: %s", max, id, strings.Join(path, " → "))
	return nil
}
