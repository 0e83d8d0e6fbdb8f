package constituency

import (
	"context"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// What a constituent organisation sees of the events: those the event
// store's index of events by organisation lists under its handle, each as
// store.ForConstituent makes it. The portal and the constituent API read
// events through EventsOf only.

// ConstituentEvents is one organisation's view of the events. It has the
// shape of the store's event searches, so that listing, paging and
// exporting code serves a constituent by being handed this instead of the
// store.
type ConstituentEvents struct {
	events store.OrganisationEventReader
	handle string
}

// EventsOf returns org's view of the events in s. org is the organisation
// of the signed-in account, read by its ID, never one named by a request.
func EventsOf(s store.OrganisationEventReader, org Organisation) ConstituentEvents {
	return ConstituentEvents{events: s, handle: org.Handle}
}

// SearchEvents runs q within the organisation's events, whatever q.Organisation
// says, and returns them as store.ForConstituent makes them.
func (v ConstituentEvents) SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	if v.handle == "" {
		// An unset handle would be no bound at all.
		return store.EventPage{}, nil
	}
	q.Organisation = v.handle
	page, err := v.events.SearchEvents(ctx, q)
	if err != nil {
		return store.EventPage{}, err
	}
	for i := range page.Events {
		page.Events[i] = store.ForConstituent(page.Events[i])
	}
	return page, nil
}

// GetEvent returns the event stored under hash, as store.ForConstituent
// makes it, when the index lists it under the organisation;
// store.ErrNotFound otherwise, exactly as for a hash never stored.
func (v ConstituentEvents) GetEvent(ctx context.Context, hash event.Hash) (store.StoredEvent, error) {
	if v.handle == "" {
		return store.StoredEvent{}, store.ErrNotFound
	}
	se, err := v.events.GetOrganisationEvent(ctx, v.handle, hash)
	if err != nil {
		return store.StoredEvent{}, err
	}
	return store.ForConstituent(se), nil
}

// CountMatches counts q within the organisation's events, whatever
// q.Organisation says.
func (v ConstituentEvents) CountMatches(ctx context.Context, q store.EventQuery, bound int) (int, error) {
	if v.handle == "" {
		return 0, nil
	}
	q.Organisation = v.handle
	return v.events.CountMatches(ctx, q, bound)
}

// GroupEvents groups q within the organisation's events, whatever
// q.Organisation says. A grouping by organisation is refused
// (store.ErrBadColumn): an event of several organisations would name the
// others to this one.
func (v ConstituentEvents) GroupEvents(ctx context.Context, q store.EventQuery, by store.GroupKey, top int) ([]store.GroupCount, error) {
	if by == store.GroupOrganisation {
		return nil, store.ErrBadColumn
	}
	if v.handle == "" {
		return nil, nil
	}
	q.Organisation = v.handle
	return v.events.GroupEvents(ctx, q, by, top)
}
