package events_test

import (
	"testing"

	"github.com/invoiced/invoiced/events"
)

// benchEvents are the events the benchmarks encode and decode: what the API
// and the processor write on every request.
var benchEvents = []struct {
	name  string
	event func() events.Event
}{
	{"requested", requestedEvent},
	{"processed", processedEvent},
}

func BenchmarkEncode(b *testing.B) {
	for _, bb := range benchEvents {
		b.Run(bb.name, func(b *testing.B) {
			e := bb.event()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.Encode(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bb := range benchEvents {
		b.Run(bb.name, func(b *testing.B) {
			data := mustEncode(b, bb.event())
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := events.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeMsg(b *testing.B) {
	for _, bb := range benchEvents {
		b.Run(bb.name, func(b *testing.B) {
			e := bb.event()
			data := mustEncode(b, e)
			subject := e.Subject()
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := events.DecodeMsg(subject, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	for _, bb := range benchEvents {
		b.Run(bb.name, func(b *testing.B) {
			e := bb.event()
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = events.AppendEncode(buf[:0], e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
