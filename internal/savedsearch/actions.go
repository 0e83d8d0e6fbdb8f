package savedsearch

import (
	"context"
	"errors"
	"strconv"

	"github.com/vigil-cert/vigil/internal/store"
)

// What the console's saved-search forms and the API's routes do, made
// here once: each checks who may, does it, and returns the audit entry
// (action, and its detail) when the team sees the change, that is when
// the search is or was shared. An empty action is nothing to audit.

// ErrNotYours refuses a change or delete of a search the viewer may not
// change (CanChange) or delete (CanDelete).
var ErrNotYours = errors.New("only the person who saved this search can change it; an admin may delete a shared one")

// AuditDetail is the audit detail of a shared search: its id, its owner
// and its query.
func AuditDetail(s Search) string {
	return "id " + strconv.FormatInt(s.ID, 10) + " by " + s.Owner + ": " + s.Query
}

// Create saves s (UserID, Owner, Name, Shared and Columns set) for v
// with the events page's query raw, checked and written by Query over
// filters, and columns v's table offers (CleanColumns). ErrShare when v
// may not share; Query's, CleanColumns' and the store's errors
// otherwise.
func Create(ctx context.Context, st Searches, v Viewer, s *Search, raw string, filters []string) (action, detail string, err error) {
	if s.Shared && !v.Team {
		return "", "", ErrShare
	}
	if s.Query, err = Query(raw, filters, v.Team); err != nil {
		return "", "", err
	}
	if s.Columns, err = CleanColumns(s.Columns, v.Team); err != nil {
		return "", "", err
	}
	if err := st.CreateSavedSearch(ctx, s); err != nil {
		return "", "", err
	}
	if s.Shared {
		return "savedsearch.share", AuditDetail(*s), nil
	}
	return "", "", nil
}

// Change renames old, one of v's searches, to name and sets whether it
// is shared, and returns it changed. ErrNotYours, ErrShare, or the
// store's errors.
func Change(ctx context.Context, st Searches, v Viewer, old Search, name string, shared bool) (s Search, action, detail string, err error) {
	if !v.CanChange(old) {
		return old, "", "", ErrNotYours
	}
	if shared && !v.Team {
		return old, "", "", ErrShare
	}
	s = old
	s.Name, s.Shared = name, shared
	if err := st.UpdateSavedSearch(ctx, &s); err != nil {
		return old, "", "", err
	}
	switch {
	case !old.Shared && s.Shared:
		return s, "savedsearch.share", AuditDetail(s), nil
	case old.Shared && !s.Shared:
		return s, "savedsearch.unshare", AuditDetail(s), nil
	case s.Shared && s.Name != old.Name:
		return s, "savedsearch.rename", "was " + old.Name + "; " + AuditDetail(s), nil
	}
	return s, "", "", nil
}

// Delete deletes s for v: its owner, or an admin when it is shared.
// ErrNotYours otherwise; one deleted meanwhile is deleted.
func Delete(ctx context.Context, st Searches, v Viewer, s Search) (action, detail string, err error) {
	if !v.CanDelete(s) {
		return "", "", ErrNotYours
	}
	if err := st.DeleteSavedSearch(ctx, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", "", err
	}
	if s.Shared {
		return "savedsearch.delete", AuditDetail(s), nil
	}
	return "", "", nil
}

// MessageKey is the catalogue key (internal/i18n) of the message for a
// person of err, one of the errors above or of saving, and "" for any
// other: the console and the API say the same.
func MessageKey(err error) string {
	var qe *QueryError
	switch {
	case errors.Is(err, ErrName):
		return "saved.error.name"
	case errors.Is(err, ErrNameTaken):
		return "saved.error.taken"
	case errors.Is(err, ErrTooMany):
		return "saved.error.toomany"
	case errors.Is(err, ErrQueryLength):
		return "saved.error.long"
	case errors.Is(err, ErrShare):
		return "saved.error.share"
	case errors.Is(err, ErrNotYours):
		return "saved.error.notyours"
	case errors.As(err, &qe):
		return "saved.error.query"
	}
	return ""
}
