package console

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestSameOrigin(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string]string
		want    bool
	}{
		{"no browser headers", nil, true},
		{"same origin", map[string]string{"Origin": "http://console.test"}, true},
		{"same origin over TLS", map[string]string{"Origin": "https://console.test"}, true},
		{"same origin, host in capitals", map[string]string{"Origin": "http://CONSOLE.test"}, true},
		{"another host", map[string]string{"Origin": "http://evil.test"}, false},
		{"another port", map[string]string{"Origin": "http://console.test:8080"}, false},
		{"opaque origin", map[string]string{"Origin": "null"}, false},
		{"same referer", map[string]string{"Referer": "http://console.test/console/subscriptions"}, true},
		{"another referer", map[string]string{"Referer": "http://evil.test/console"}, false},
		{"origin wins over referer", map[string]string{"Origin": "http://evil.test", "Referer": "http://console.test/"}, false},
		{"fetch from this origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://console.test"}, true},
		{"fetch from a sibling site", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"fetch from another site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://console.test"}, false},
		{"another scheme", map[string]string{"Origin": "file://console.test"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://console.test/console/subscriptions", nil)
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			if got := sameOrigin(r); got != c.want {
				t.Fatalf("sameOrigin %v, want %v", got, c.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"login and tuned", Config{RequireLogin: true, SessionIdle: time.Hour, MaxSessions: 5, Poll: 3 * time.Second}, true},
		{"negative idle", Config{SessionIdle: -time.Second}, false},
		{"negative sessions", Config{MaxSessions: -1}, false},
		{"poll too fast", Config{Poll: 100 * time.Millisecond}, false},
		{"poll too slow", Config{Poll: time.Hour}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.cfg.Validate(); (err == nil) != c.ok {
				t.Fatalf("Validate: %v, want ok %v", err, c.ok)
			}
		})
	}
}
