package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestUndecodableIsOneCounterLabelledByReader(t *testing.T) {
	m := New()
	var readModel, console atomic.Uint64
	if err := m.WatchUndecodable(ReaderReadModel, readModel.Load); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchUndecodable(ReaderConsole, console.Load); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchUndecodable(ReaderConsole, console.Load); err == nil {
		t.Error("a reader watched twice")
	}
	if err := m.WatchUndecodable("invoices.x.requested", console.Load); err == nil {
		t.Error("a reader outside the fixed set watched")
	}
	readModel.Add(3)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"# TYPE invoiced_undecodable_events_total counter",
		`invoiced_undecodable_events_total{reader="read_model"} 3`,
		`invoiced_undecodable_events_total{reader="console"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}
