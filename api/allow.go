package api

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// routeTable is every route of a router, walked through mounted ones, so
// the methods a path answers can be listed for Allow. (chi's own match
// sees a mounted router's root answer every method.)
type routeTable []route

type route struct {
	method   string
	segments []string // "{…}" matches any one segment
}

// walkRoutes returns the routes of r.
func walkRoutes(r chi.Routes) routeTable {
	var t routeTable
	_ = chi.Walk(r, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		t = append(t, route{method: method, segments: segments(pattern)})
		return nil
	})
	return t
}

// allowed lists the methods some route answers at path, in a fixed order.
func (t routeTable) allowed(path string) []string {
	segs := segments(path)
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for _, r := range t {
			if r.method == m && r.matches(segs) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func (r route) matches(segs []string) bool {
	if len(segs) != len(r.segments) {
		return false
	}
	for i, s := range r.segments {
		if s != segs[i] && !(strings.HasPrefix(s, "{") && segs[i] != "") {
			return false
		}
	}
	return true
}

// segments splits a path or pattern at its slashes, ignoring the ends.
func segments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
