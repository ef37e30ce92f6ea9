package console

import (
	"net/http"

	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// audience is what a request may see of the service as a whole.
type audience struct {
	all     bool   // every account's counts, and the service's queues
	account string // else this account's counts alone
}

// audienceOf returns what r's session may see: everything when the
// console needs no login (the service has no API keys, so one account) or
// its key is an operator's, else its account's counts alone. It asks the
// API each time, as keys can be replaced while a session lasts. It fails
// when the API refuses the key.
func (c *Console) audienceOf(r *http.Request) (audience, error) {
	if !c.cfg.RequireLogin {
		return audience{all: true}, nil
	}
	who := c.callerOf(r)
	me, err := who.api.GetAccount(r.Context(), who.id)
	if err != nil {
		return audience{}, err
	}
	return audience{all: me.Operator, account: me.Account}, nil
}

// scope returns whose activity the audience sees.
func (a audience) scope() readmodel.Scope {
	if a.all {
		return readmodel.Scope{}
	}
	return readmodel.Scope{Account: a.account}
}

// whose says whose counts the audience sees.
func (a audience) whose() string {
	if a.all {
		return "Counts of every account."
	}
	return "Counts of account " + a.account + " alone."
}
