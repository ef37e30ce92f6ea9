// Package progress keeps one live status line on a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Line rewrites one status line on a terminal until stopped. On anything
// but a terminal it writes nothing, so logs and pipes stay clean.
type Line struct {
	w      io.Writer
	status func() string
	stop   chan struct{}
	done   sync.WaitGroup
	width  int
}

// Start shows status() on w every interval, if w is a terminal, and
// returns the line; Stop ends it.
func Start(w io.Writer, every time.Duration, status func() string) *Line {
	l := &Line{w: w, status: status, stop: make(chan struct{})}
	if !IsTerminal(w) {
		return l
	}
	l.done.Add(1)
	go l.run(every)
	return l
}

func (l *Line) run(every time.Duration) {
	defer l.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		l.draw(l.status())
		select {
		case <-t.C:
		case <-l.stop:
			l.draw("")
			return
		}
	}
}

// draw overwrites the line with s.
func (l *Line) draw(s string) {
	pad := max(l.width-len(s), 0)
	fmt.Fprintf(l.w, "\r%s%s\r", s, strings.Repeat(" ", pad))
	l.width = len(s)
}

// Stop clears the line and returns once it is gone. It may be called more
// than once.
func (l *Line) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
}

// IsTerminal reports whether w is a character device, such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Bar returns a bar of width cells, done of total filled, and the share in
// percent: "[#####.....]  50%". A total of 0 shows an empty bar.
func Bar(done, total, width int) string {
	filled, pct := 0, 0
	if total > 0 {
		done = min(max(done, 0), total)
		filled, pct = done*width/total, done*100/total
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "] " + fmt.Sprintf("%3d%%", pct)
}
