package dispatcher

import "time"

// Observer is told what becomes of deliveries, as metrics want it. Its
// methods are called from many workers at once.
type Observer interface {
	// Attempted reports one attempt answered with status (0 when no answer
	// came) after d.
	Attempted(status int, d time.Duration)
	// Delivered reports the first success of a delivery of eventType, d
	// after its invoice was accepted.
	Delivered(eventType string, d time.Duration)
	// Dead reports a delivery that became a dead letter.
	Dead()
	// Disabled reports a subscription this process disabled for failing.
	Disabled()
}

// noObserver observes nothing.
type noObserver struct{}

func (noObserver) Attempted(int, time.Duration)    {}
func (noObserver) Delivered(string, time.Duration) {}
func (noObserver) Dead()                           {}
func (noObserver) Disabled()                       {}
