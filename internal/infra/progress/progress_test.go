package progress

import (
	"bytes"
	"os"
	"testing"
	"time"
)

func TestBar(t *testing.T) {
	tests := []struct {
		done, total int
		want        string
	}{
		{0, 10, "[..........]   0%"},
		{5, 10, "[#####.....]  50%"},
		{10, 10, "[##########] 100%"},
		{12, 10, "[##########] 100%"},
		{-1, 10, "[..........]   0%"},
		{3, 0, "[..........]   0%"},
	}
	for _, tt := range tests {
		if got := Bar(tt.done, tt.total, 10); got != tt.want {
			t.Errorf("Bar(%d, %d) = %q, want %q", tt.done, tt.total, got, tt.want)
		}
	}
}

func TestNothingButOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	calls := 0
	l := Start(&buf, time.Millisecond, func() string { calls++; return "status" })
	l.Stop()
	l.Stop()
	if buf.Len() != 0 || calls != 0 {
		t.Fatalf("wrote %q, asked %d times, to a buffer", buf.String(), calls)
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Fatal("a regular file taken for a terminal")
	}
}

func TestDrawOverwritesTheLine(t *testing.T) {
	var buf bytes.Buffer
	l := &Line{w: &buf}
	l.draw("long status")
	l.draw("short")
	l.draw("")
	want := "\rlong status\r" + "\rshort      \r" + "\r     \r"
	if buf.String() != want {
		t.Fatalf("drew %q, want %q", buf.String(), want)
	}
}
