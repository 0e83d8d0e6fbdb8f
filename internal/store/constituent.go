package store

import (
	"context"
	"slices"

	"github.com/vigil-cert/vigil/internal/event"
)

// What a constituent organisation sees of the event store is decided here
// and in constituency.EventsOf, once, for every place it looks (the
// portal's pages and downloads, the constituent API in each of its
// formats): the events the index of events by organisation lists under its
// handle, and of each event what a notification would tell it. Handles are
// never given again (see constituency.RetiredHandleError), so the handle
// of the account's organisation names that organisation and no other, past
// or future.

// OrganisationEventReader is the part of the store a constituent's view of
// the events (constituency.EventsOf) reads.
type OrganisationEventReader interface {
	SearchEvents(ctx context.Context, q EventQuery) (EventPage, error)
	CountMatches(ctx context.Context, q EventQuery, bound int) (int, error)
	GroupEvents(ctx context.Context, q EventQuery, by GroupKey, top int) ([]GroupCount, error)
	GetOrganisationEvent(ctx context.Context, org string, hash event.Hash) (StoredEvent, error)
}

// ForConstituent is what a constituent organisation may see of a stored
// event: the event without NotificationWithheld, the same rule its
// notifications follow. The event is copied, never changed in place.
func ForConstituent(se StoredEvent) StoredEvent {
	if se.Event == nil || !slices.ContainsFunc(NotificationWithheld, se.Event.Has) {
		return se
	}
	se.Event = se.Event.Clone()
	WithoutWithheld(se.Event)
	return se
}

// ConstituentColumn reports whether a constituent may ask for a field by
// name (a CSV column): not one of NotificationWithheld.
func ConstituentColumn(name string) bool {
	return !slices.Contains(NotificationWithheld, name)
}
