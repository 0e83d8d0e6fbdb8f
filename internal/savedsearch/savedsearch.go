package savedsearch

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// Bounds of the saved searches.
const (
	// MaxPerUser is how many searches one account may keep.
	MaxPerUser = 200
	// MaxNameLength is the longest name, in characters.
	MaxNameLength = 100
	// MaxQueryLength is the longest query string, in bytes: far more
	// than every filter of the search page filled in takes.
	MaxQueryLength = 2000
)

// Errors of saving a search; each says what a person can fix.
var (
	ErrName        = errors.New("a saved search needs a name of at most 100 characters, without control characters")
	ErrNameTaken   = errors.New("you already have a saved search of that name")
	ErrQueryLength = errors.New("the search is too long to save (at most 2000 bytes)")
	ErrTooMany     = errors.New("you have 200 saved searches, the most an account may keep; delete one first")
	ErrShare       = errors.New("only a team member can share a search with the team")
)

// Search is one saved search.
type Search struct {
	ID     int64
	UserID int64
	// Owner is the owning account's name, read with the search.
	Owner string
	Name  string
	// Query is the events page's query string, as Query writes it.
	Query string
	// Columns are the table's columns chosen with the search, in the
	// table's order (TableColumns); none opens it with the person's own
	// choice.
	Columns []string
	Shared  bool
	Created time.Time
	Updated time.Time
}

// Searches keeps saved searches. ErrNotFound (store.ErrNotFound) when a
// search or its owner does not exist.
type Searches interface {
	// CreateSavedSearch stores s for s.UserID and sets its ID and
	// times: ErrName, ErrQueryLength, ErrNameTaken, ErrTooMany.
	CreateSavedSearch(ctx context.Context, s *Search) error
	GetSavedSearch(ctx context.Context, id int64) (Search, error)
	// ListSavedSearches returns the user's searches and, when shared,
	// every search shared with the team: the user's own first, each
	// group by name.
	ListSavedSearches(ctx context.Context, userID int64, shared bool) ([]Search, error)
	// UpdateSavedSearch sets the name and sharing of s.ID, which must
	// belong to s.UserID: ErrName, ErrNameTaken, ErrNotFound.
	UpdateSavedSearch(ctx context.Context, s *Search) error
	DeleteSavedSearch(ctx context.Context, id int64) error
}

// Viewer is the person looking at saved searches, as the rules below
// need them.
type Viewer struct {
	UserID int64
	// Team is a member of the team (not a constituent): sees and may
	// make shared searches.
	Team bool
	// Admin may delete another's shared search.
	Admin bool
}

// CanSee reports whether v may see and open s: their own, or a shared
// one when v is of the team.
func (v Viewer) CanSee(s Search) bool { return s.UserID == v.UserID || v.Team && s.Shared }

// CanChange reports whether v may rename s or change its sharing: only
// its owner.
func (v Viewer) CanChange(s Search) bool { return s.UserID == v.UserID }

// CanDelete reports whether v may delete s: its owner, or an admin when
// it is shared.
func (v Viewer) CanDelete(s Search) bool { return v.CanChange(s) || v.Admin && v.Team && s.Shared }

// Visible returns those of list v may see; a store's list already is,
// and this keeps it so whatever the store returns.
func (v Viewer) Visible(list []Search) []Search {
	return slices.DeleteFunc(slices.Clone(list), func(s Search) bool { return !v.CanSee(s) })
}

// CleanName trims name and checks it: not empty, at most MaxNameLength
// characters, valid UTF-8 without control characters. ErrName if not.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength ||
		strings.ContainsFunc(name, unicode.IsControl) {
		return "", ErrName
	}
	return name, nil
}

// View parameters a saved query may carry besides the filters.
const (
	paramSort  = "sort"
	paramDir   = "dir"
	paramGroup = "group"
)

// QueryError says which parameter of a query to save is wrong, and why.
type QueryError struct {
	Param  string
	Reason string
}

func (e *QueryError) Error() string { return "parameter " + e.Param + ": " + e.Reason }

// Query checks raw, a query string of the events page, and writes it the
// one way a saved search keeps it: only the filters (those of filters, a
// subset of store.Filters) and the view (sort, dir, group), empty ones
// left out, each value checked as the search reads it. team
// allows grouping by organisation. A *QueryError names the parameter at
// fault; ErrQueryLength when the result is too long.
func Query(raw string, filters []string, team bool) (string, error) {
	if len(raw) > 4*MaxQueryLength {
		return "", ErrQueryLength
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return "", &QueryError{Param: "query", Reason: "not a query string"}
	}
	out := url.Values{}
	var q store.EventQuery
	for name, vs := range values {
		if len(vs) > 1 {
			return "", &QueryError{Param: name, Reason: "given more than once"}
		}
		v := strings.TrimSpace(vs[0])
		switch {
		case v == "":
			continue
		case slices.Contains(filters, name):
			if err := q.SetFilter(name, v); err != nil {
				var fe *store.FilterError
				if errors.As(err, &fe) {
					return "", &QueryError{Param: name, Reason: fe.Reason}
				}
				return "", err
			}
		case name == paramSort:
			if !store.ValidSort(store.SortKey(v)) {
				return "", &QueryError{Param: name, Reason: "not a column the table sorts by"}
			}
			if store.SortKey(v) == store.SortTime {
				continue // the default
			}
		case name == paramDir:
			if v != "asc" && v != "desc" {
				return "", &QueryError{Param: name, Reason: "want asc or desc"}
			}
			if v == "desc" {
				continue // the default
			}
		case name == paramGroup:
			if g := store.GroupKey(v); !store.ValidGroup(g) || !team && g == store.GroupOrganisation {
				return "", &QueryError{Param: name, Reason: "not a grouping the table offers"}
			}
		default:
			return "", &QueryError{Param: name, Reason: "not a parameter of the event search"}
		}
		out.Set(name, v)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return "", &QueryError{Param: "to", Reason: "must be after from"}
	}
	s := out.Encode()
	if len(s) > MaxQueryLength {
		return "", ErrQueryLength
	}
	return s, nil
}

// Check checks s's name, query length and columns before it is stored,
// as every store does: ErrName, ErrQueryLength, or a *QueryError about
// the columns (one the table does not have). Whether the owner may see a
// column is the caller's to check (Create does).
func Check(s *Search) error {
	name, err := CleanName(s.Name)
	if err != nil {
		return err
	}
	s.Name = name
	if len(s.Query) > MaxQueryLength {
		return ErrQueryLength
	}
	if s.Columns, err = CleanColumns(s.Columns, true); err != nil {
		return err
	}
	return nil
}

// Find returns the search named name that v may open: v's own first,
// else the one shared search of that name. It is for the command line and
// the API, which name a search; an error says when none or several match.
func Find(list []Search, v Viewer, name string) (Search, error) {
	var shared []Search
	for _, s := range v.Visible(list) {
		if s.Name != name {
			continue
		}
		if s.UserID == v.UserID {
			return s, nil
		}
		shared = append(shared, s)
	}
	switch len(shared) {
	case 0:
		return Search{}, &FindError{Message: i18n.M("saved.find.none", name), notFound: true}
	case 1:
		return shared[0], nil
	}
	owners := make([]string, len(shared))
	for i, s := range shared {
		owners[i] = s.Owner
	}
	return Search{}, &FindError{Message: i18n.M("saved.find.several", len(shared), name, strings.Join(owners, ", "))}
}

// FindError says why Find found no search, or several; it is
// store.ErrNotFound when there is none.
type FindError struct {
	Message  i18n.Message
	notFound bool
}

func (e *FindError) Error() string { return e.Message.String() }

// Explain is the error in the reader's language.
func (e *FindError) Explain() i18n.Message { return e.Message }

// Unwrap is store.ErrNotFound when no search has the name.
func (e *FindError) Unwrap() error {
	if e.notFound {
		return store.ErrNotFound
	}
	return nil
}
