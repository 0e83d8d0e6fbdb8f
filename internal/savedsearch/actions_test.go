package savedsearch

import (
	"context"
	"errors"
	"testing"
)

// memSearches is a Searches in memory, enough for the actions.
type memSearches struct {
	byID map[int64]Search
	next int64
}

func (m *memSearches) CreateSavedSearch(_ context.Context, s *Search) error {
	m.next++
	s.ID = m.next
	m.byID[s.ID] = *s
	return nil
}

func (m *memSearches) GetSavedSearch(_ context.Context, id int64) (Search, error) {
	return m.byID[id], nil
}

func (m *memSearches) ListSavedSearches(context.Context, int64, bool) ([]Search, error) {
	return nil, nil
}

func (m *memSearches) UpdateSavedSearch(_ context.Context, s *Search) error {
	m.byID[s.ID] = *s
	return nil
}

func (m *memSearches) DeleteSavedSearch(_ context.Context, id int64) error {
	delete(m.byID, id)
	return nil
}

// TestActions: sharing, renaming a shared search and deleting it are
// audited with one detail (id, owner, query); private ones are not; a
// constituent cannot share, and only the owner or an admin (a shared
// search) deletes.
func TestActions(t *testing.T) {
	ctx := t.Context()
	st := &memSearches{byID: map[int64]Search{}}
	ana := Viewer{UserID: 1, Team: true}
	s := Search{UserID: 1, Owner: "ana", Name: "Bots", Shared: true}
	action, detail, err := Create(ctx, st, ana, &s, "ip=192.0.2.1", []string{"ip"})
	if err != nil || action != "savedsearch.share" || detail != "id 1 by ana: ip=192.0.2.1" {
		t.Fatalf("Create = %q, %q, %v", action, detail, err)
	}
	if _, _, err := Create(ctx, st, Viewer{UserID: 2}, &Search{UserID: 2, Name: "x", Shared: true}, "", nil); !errors.Is(err, ErrShare) {
		t.Errorf("a constituent shares: %v", err)
	}
	var qe *QueryError
	if _, _, err := Create(ctx, st, Viewer{UserID: 2}, &Search{UserID: 2, Name: "x", Columns: []string{"extra.constituency"}}, "", nil); !errors.As(err, &qe) || qe.Param != "columns" {
		t.Errorf("a constituent keeps the organisation column: %v", err)
	}
	if _, action, detail, err := Change(ctx, st, ana, s, "Bots 2", true); err != nil || action != "savedsearch.rename" || detail != "was Bots; id 1 by ana: ip=192.0.2.1" {
		t.Errorf("Change = %q, %q, %v", action, detail, err)
	}
	if _, _, err := Delete(ctx, st, Viewer{UserID: 3, Team: true}, s); !errors.Is(err, ErrNotYours) || MessageKey(err) != "saved.error.notyours" {
		t.Errorf("another analyst deletes: %v", err)
	}
	action, detail, err = Delete(ctx, st, Viewer{UserID: 3, Team: true, Admin: true}, s)
	if err != nil || action != "savedsearch.delete" || detail != AuditDetail(s) || len(st.byID) != 0 {
		t.Errorf("admin's Delete = %q, %q, %v; %d left", action, detail, err, len(st.byID))
	}
}
