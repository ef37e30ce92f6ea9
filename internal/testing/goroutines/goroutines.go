// Package goroutines tells tests which goroutine runs them and which
// goroutines are running a function, read from the runtime's stack dumps.
package goroutines

import (
	"bytes"
	"runtime"
)

// ID returns the ID of the calling goroutine.
func ID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := bytes.Cut(bytes.TrimPrefix(buf, []byte("goroutine ")), []byte(" "))
	return string(id)
}

// Running returns how many goroutines have fn, a function's name as stack
// dumps print it (such as "consume.(*Pool).work"), on their stacks.
func Running(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	n := 0
	for stack := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(stack, []byte(fn+"(")) {
			n++
		}
	}
	return n
}
