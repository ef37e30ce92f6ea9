package bench

import "testing"

func TestMedianRunsTakesEachFigureOnItsOwn(t *testing.T) {
	run := func(size int, post, refPost float64, rss float64) HistoryRun {
		r := HistoryRun{Size: size, Figures: Figures{PostPerSec: post, RSSMB: rss}, Reference: Figures{PostPerSec: refPost, RSSMB: 100}}
		r.Ratio = r.Figures.over(r.Reference)
		return r
	}
	runs := []HistoryRun{
		run(0, 3000, 3000, 100), run(0, 2000, 2500, 120), run(0, 3100, 3000, 90),
		run(4, 2700, 3300, 400), run(4, 2400, 2400, 500), run(4, 2900, 3000, 300),
	}
	got := MedianRuns(runs)
	if len(got) != 2 || got[0].Size != 0 || got[1].Size != 4 {
		t.Fatalf("medians of sizes %v", got)
	}
	m := got[1]
	// Each figure is its own median: the ratios' (2,900 / 3,000) is not
	// the ratio of the medians (2,700 / 3,000).
	if m.PostPerSec != 2700 || m.Reference.PostPerSec != 3000 || m.Ratio.PostPerSec != 2900.0/3000 {
		t.Fatalf("POST: %v, reference %v, ratio %v", m.PostPerSec, m.Reference.PostPerSec, m.Ratio.PostPerSec)
	}
	if m.RSSMB != 400 || m.Ratio.RSSMB != 4 {
		t.Fatalf("RSS %v, ratio %v", m.RSSMB, m.Ratio.RSSMB)
	}
}

func TestOverLeavesAMissingReferenceAtZero(t *testing.T) {
	r := Figures{PostPerSec: 10, RestartS: 1}.over(Figures{PostPerSec: 5})
	if r.PostPerSec != 2 || r.RestartS != 0 {
		t.Fatalf("ratios %+v", r)
	}
}
