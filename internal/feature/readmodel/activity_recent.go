package readmodel

import "container/list"

// recent holds the windows of up to max subscriptions or accounts, the
// most recently active ones. Its owner's lock guards it.
type recent struct {
	max   int
	byID  map[string]*list.Element // of order
	order *list.List               // *idWindow, most recently active first
}

// idWindow is the window of one subscription or account.
type idWindow struct {
	id string
	w  window
}

func newRecent(max int) recent {
	return recent{max: max, byID: map[string]*list.Element{}, order: list.New()}
}

// find returns id's window, or nil when id is not held.
func (r *recent) find(id string) *window {
	if e, ok := r.byID[id]; ok {
		return &e.Value.(*idWindow).w
	}
	return nil
}

// window returns id's window, made the most recently active; a new one
// takes the place of the least recently active when there are max.
func (r *recent) window(id string) *window {
	if e, ok := r.byID[id]; ok {
		r.order.MoveToFront(e)
		return &e.Value.(*idWindow).w
	}
	if r.order.Len() < r.max {
		iw := &idWindow{id: id}
		r.byID[id] = r.order.PushFront(iw)
		return &iw.w
	}
	e := r.order.Back()
	iw := e.Value.(*idWindow)
	delete(r.byID, iw.id)
	iw.id = id
	iw.w.clear()
	r.order.MoveToFront(e)
	r.byID[id] = e
	return &iw.w
}
