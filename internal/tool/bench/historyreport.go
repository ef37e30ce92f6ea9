package bench

import (
	"fmt"
	"io"

	"github.com/invoiced/invoiced/internal/infra/config"
)

// WriteHistoryReport prints runs, their medians per size and what each
// invoice of history costs, as lines of text for a person.
func WriteHistoryReport(w io.Writer, cfg config.BenchHistory, runs []HistoryRun) {
	fmt.Fprintf(w, "fsync %s; every run, then the same on the nearly empty reference: kill -9, restart, RSS 10 s after ready, %d of each read, POST for %s\n\n",
		cfg.Fsync, cfg.Reads, cfg.PostFor)
	fmt.Fprintln(w, "size       invoices   restart  RSS MB  get p99  by customer p99  failing p99  POST/s  streams MB  read model MB  "+
		"| reference: POST/s  ratios: get  by customer  failing  POST")
	row := func(label string, r HistoryRun) {
		fmt.Fprintf(w, "%-10s %-10d %6.2fs %7.0f %6.2fms %13.2fms %10.2fms %7.0f %11.0f %14.0f  | %17.0f %12.2f %12.2f %8.2f %5.2f\n",
			label, r.Invoices, r.RestartS, r.RSSMB, r.Invoice, r.Customer, r.Failing, r.PostPerSec, r.StreamsMB, r.ReadModelMB,
			r.Reference.PostPerSec, r.Ratio.Invoice, r.Ratio.Customer, r.Ratio.Failing, r.Ratio.PostPerSec)
	}
	for _, r := range runs {
		row(fmt.Sprint(r.Size), r)
	}
	medians := MedianRuns(runs)
	fmt.Fprintln(w, "\nmedians")
	for _, m := range medians {
		row(fmt.Sprint(m.Size), m)
	}
	for i := 1; i < len(medians); i++ {
		a, b := medians[i-1], medians[i]
		added := float64(b.Invoices - a.Invoices)
		fmt.Fprintf(w, "\n%d → %d invoices: RSS %+.1f bytes per added invoice; disk %.0f bytes per invoice (streams %.0f, read model %.0f)",
			a.Invoices, b.Invoices, (b.RSSMB-a.RSSMB)*(1<<20)/added,
			(b.StreamsMB+b.ReadModelMB)*(1<<20)/float64(b.Invoices), b.StreamsMB*(1<<20)/float64(b.Invoices), b.ReadModelMB*(1<<20)/float64(b.Invoices))
	}
	fmt.Fprintln(w)
}
