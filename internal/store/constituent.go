package store

import (
	"context"
	"slices"

	"github.com/vigil-cert/vigil/internal/event"
)

// What a constituent organisation sees of the event store is decided here,
// once, for every place it looks (the portal's pages and downloads, the
// constituent API in each of its formats): the events the index of events
// by organisation lists under its handle, and of each event what a
// notification would tell it. Handles are never given again (see
// RetiredHandleError), so the handle of the account's organisation names
// that organisation and no other, past or future.

// OrganisationEventReader is the part of the store a constituent's view of
// the events reads.
type OrganisationEventReader interface {
	SearchEvents(ctx context.Context, q EventQuery) (EventPage, error)
	CountMatches(ctx context.Context, q EventQuery, bound int) (int, error)
	GroupEvents(ctx context.Context, q EventQuery, by GroupKey, top int) ([]GroupCount, error)
	GetOrganisationEvent(ctx context.Context, org string, hash event.Hash) (StoredEvent, error)
}

// ConstituentEvents is one organisation's view of the events. It has the
// shape of the store's event searches, so that listing, paging and
// exporting code serves a constituent by being handed this instead of the
// store.
type ConstituentEvents struct {
	events OrganisationEventReader
	handle string
}

// EventsOf returns org's view of the events in s. org is the organisation
// of the signed-in account, read by its ID, never one named by a request.
func EventsOf(s OrganisationEventReader, org Organisation) ConstituentEvents {
	return ConstituentEvents{events: s, handle: org.Handle}
}

// SearchEvents runs q within the organisation's events, whatever q.Organisation
// says, and returns them as ForConstituent makes them.
func (v ConstituentEvents) SearchEvents(ctx context.Context, q EventQuery) (EventPage, error) {
	if v.handle == "" {
		// An unset handle would be no bound at all.
		return EventPage{}, nil
	}
	q.Organisation = v.handle
	page, err := v.events.SearchEvents(ctx, q)
	if err != nil {
		return EventPage{}, err
	}
	for i := range page.Events {
		page.Events[i] = ForConstituent(page.Events[i])
	}
	return page, nil
}

// CountMatches counts q within the organisation's events, whatever
// q.Organisation says.
func (v ConstituentEvents) CountMatches(ctx context.Context, q EventQuery, bound int) (int, error) {
	if v.handle == "" {
		return 0, nil
	}
	q.Organisation = v.handle
	return v.events.CountMatches(ctx, q, bound)
}

// GroupEvents groups q within the organisation's events, whatever
// q.Organisation says. A grouping by organisation is refused
// (ErrBadColumn): an event of several organisations would name the others
// to this one.
func (v ConstituentEvents) GroupEvents(ctx context.Context, q EventQuery, by GroupKey, top int) ([]GroupCount, error) {
	if by == GroupOrganisation {
		return nil, ErrBadColumn
	}
	if v.handle == "" {
		return nil, nil
	}
	q.Organisation = v.handle
	return v.events.GroupEvents(ctx, q, by, top)
}

// GetEvent returns the event stored under hash, as ForConstituent makes it,
// when the index lists it under the organisation; ErrNotFound otherwise,
// exactly as for a hash never stored.
func (v ConstituentEvents) GetEvent(ctx context.Context, hash event.Hash) (StoredEvent, error) {
	if v.handle == "" {
		return StoredEvent{}, ErrNotFound
	}
	se, err := v.events.GetOrganisationEvent(ctx, v.handle, hash)
	if err != nil {
		return StoredEvent{}, err
	}
	return ForConstituent(se), nil
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
