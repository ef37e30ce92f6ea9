package bench

import (
	"syscall"
	"time"
)

// usage is what this process has used so far: CPU time, and bytes it has
// had written to disk (pages it dirtied in files).
type usage struct {
	cpu     time.Duration
	written int64
}

// selfUsage returns this process's usage so far, zero where the system
// does not say.
func selfUsage() usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}
	}
	return usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), written: ru.Oublock * 512}
}

// perInvoice returns the CPU milliseconds and disk kilobytes used since
// u, per invoice of n; zeros when n is 0.
func (u usage) perInvoice(n int) (cpuMS, writtenKB float64) {
	if n == 0 {
		return 0, 0
	}
	now := selfUsage()
	return float64(now.cpu-u.cpu) / float64(time.Millisecond) / float64(n), float64(now.written-u.written) / 1024 / float64(n)
}
