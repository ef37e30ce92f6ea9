package api

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxFailingClients bounds how many client addresses the failure budget
// remembers, so a sweep of addresses cannot grow it without end.
const maxFailingClients = 10_000

// failureBudget is each client address's budget of failed
// authentications: a token bucket per address, forgotten once full again.
type failureBudget struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

func newFailureBudget(limit rate.Limit, burst int) *failureBudget {
	return &failureBudget{limit: limit, burst: burst, clients: map[string]*rate.Limiter{}}
}

// left reports whether client may still fail an authentication, and if
// not, how long until it may.
func (b *failureBudget) left(client string) (time.Duration, bool) {
	b.mu.Lock()
	lim, ok := b.clients[client]
	b.mu.Unlock()
	if !ok {
		return 0, true
	}
	now := time.Now()
	if lim.TokensAt(now) >= 1 {
		return 0, true
	}
	res := lim.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	res.CancelAt(now)
	return max(wait, time.Second), false
}

// spend takes one failure from client's budget.
func (b *failureBudget) spend(client string) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	lim, ok := b.clients[client]
	if !ok {
		if len(b.clients) >= maxFailingClients {
			b.forgetRecovered(now)
		}
		lim = rate.NewLimiter(b.limit, b.burst)
		b.clients[client] = lim
	}
	lim.AllowN(now, 1)
}

// forgetRecovered drops the addresses whose budget is full again; if none
// is, it drops them all rather than grow past maxFailingClients.
func (b *failureBudget) forgetRecovered(now time.Time) {
	for client, lim := range b.clients {
		if lim.TokensAt(now) >= float64(b.burst) {
			delete(b.clients, client)
		}
	}
	if len(b.clients) >= maxFailingClients {
		clear(b.clients)
	}
}

// clientAddress returns the IP address r came from, without its port. It
// trusts no forwarding header: behind a proxy, every client is the proxy.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
