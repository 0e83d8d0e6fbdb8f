// Package savedsearchtest is the saved searches' contract, answered
// alike by savedsearchdb on SQLite and on PostgreSQL.
package savedsearchtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
)

// Run runs the contract. open returns a fresh database of its own for
// every call, migrated with every capability's schema, and the saved
// searches on it.
func Run(t *testing.T, open func(t *testing.T) (store.Store, savedsearch.Searches)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store, s savedsearch.Searches)
	}{
		{"create, list, rename, delete", testLifeCycle},
		{"private searches stay private", testPrivate},
		{"bounds", testBounds},
		{"a deleted account's searches go", testDeletedAccount},
		{"the columns are kept", testColumns},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, s := open(t)
			tt.fn(t, st, s)
		})
	}
}

// createUser stores an account for searches to belong to.
func createUser(t *testing.T, st store.Store, name string, role auth.Role) auth.User {
	t.Helper()
	u := auth.User{Name: name, Email: name + "@cert.example", Role: role,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
	if err := authdb.New(st.DB()).CreateUser(t.Context(), &u); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

func create(t *testing.T, s savedsearch.Searches, userID int64, name, query string, shared bool) savedsearch.Search {
	t.Helper()
	ss := savedsearch.Search{UserID: userID, Name: name, Query: query, Shared: shared}
	if err := s.CreateSavedSearch(t.Context(), &ss); err != nil {
		t.Fatalf("CreateSavedSearch(%s): %v", name, err)
	}
	return ss
}

// names writes a list as "owner/name" items, to compare.
func names(list []savedsearch.Search) string {
	var b strings.Builder
	for i, s := range list {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s/%s", s.Owner, s.Name)
		if s.Shared {
			b.WriteString("*")
		}
	}
	return b.String()
}

func list(t *testing.T, s savedsearch.Searches, userID int64, shared bool) string {
	t.Helper()
	l, err := s.ListSavedSearches(t.Context(), userID, shared)
	if err != nil {
		t.Fatalf("ListSavedSearches(%d): %v", userID, err)
	}
	return names(l)
}

func testLifeCycle(t *testing.T, st store.Store, s savedsearch.Searches) {
	ctx := t.Context()
	alice := createUser(t, st, "alice", auth.RoleAnalyst)
	bob := createUser(t, st, "bob", auth.RoleAnalyst)
	scans := create(t, s, alice.ID, "  RDP scans ", "type=scanner", true)
	if scans.ID == 0 || scans.Name != "RDP scans" || scans.Owner != "alice" || scans.Created.IsZero() || !scans.Updated.Equal(scans.Created) {
		t.Fatalf("created %+v", scans)
	}
	create(t, s, alice.ID, "Zeta", "asn=64500", false)
	create(t, s, alice.ID, "Alpha", "ip=192.0.2.1", false)
	create(t, s, bob.ID, "Bob's", "feed=x", true)
	create(t, s, bob.ID, "Bob's own", "feed=y", false)
	// The same name by two people is two searches.
	create(t, s, bob.ID, "RDP scans", "type=scanner&sort=source.ip", true)

	if got, want := list(t, s, alice.ID, true), "alice/Alpha alice/RDP scans* alice/Zeta bob/Bob's* bob/RDP scans*"; got != want {
		t.Errorf("alice's list:\n got %s\nwant %s", got, want)
	}
	if got, want := list(t, s, alice.ID, false), "alice/Alpha alice/RDP scans* alice/Zeta"; got != want {
		t.Errorf("alice's own:\n got %s\nwant %s", got, want)
	}
	got, err := s.GetSavedSearch(ctx, scans.ID)
	if err != nil || got.Query != "type=scanner" || !got.Shared || got.Owner != "alice" || !got.Created.Equal(scans.Created) {
		t.Fatalf("GetSavedSearch = %+v, %v", got, err)
	}
	if _, err := s.GetSavedSearch(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSavedSearch(missing) = %v, want ErrNotFound", err)
	}

	// Renaming and unsharing; only the owner's id matches.
	upd := savedsearch.Search{ID: scans.ID, UserID: alice.ID, Name: "Scans", Shared: false}
	if err := s.UpdateSavedSearch(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSavedSearch(ctx, scans.ID); got.Name != "Scans" || got.Shared || got.Query != "type=scanner" || got.Updated.Before(got.Created) {
		t.Errorf("after update %+v", got)
	}
	if got, want := list(t, s, bob.ID, true), "bob/Bob's* bob/Bob's own bob/RDP scans*"; got != want {
		t.Errorf("bob's list after alice unshared:\n got %s\nwant %s", got, want)
	}
	steal := savedsearch.Search{ID: scans.ID, UserID: bob.ID, Name: "Mine now", Shared: true}
	if err := s.UpdateSavedSearch(ctx, &steal); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of another's search = %v, want ErrNotFound", err)
	}
	taken := savedsearch.Search{ID: scans.ID, UserID: alice.ID, Name: "Zeta"}
	if err := s.UpdateSavedSearch(ctx, &taken); !errors.Is(err, savedsearch.ErrNameTaken) {
		t.Errorf("rename onto an own name = %v, want ErrNameTaken", err)
	}
	bad := savedsearch.Search{ID: scans.ID, UserID: alice.ID, Name: " "}
	if err := s.UpdateSavedSearch(ctx, &bad); !errors.Is(err, savedsearch.ErrName) {
		t.Errorf("rename to blank = %v, want ErrName", err)
	}

	if err := s.DeleteSavedSearch(ctx, scans.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSavedSearch(ctx, scans.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
	if got, want := list(t, s, alice.ID, false), "alice/Alpha alice/Zeta"; got != want {
		t.Errorf("after delete: %s", got)
	}
}

// testPrivate: a private search is in nobody's list but its owner's,
// and a list without the shared ones holds the owner's only.
func testPrivate(t *testing.T, st store.Store, s savedsearch.Searches) {
	alice := createUser(t, st, "alice", auth.RoleAnalyst)
	carol := createUser(t, st, "carol", auth.RoleConstituent)
	create(t, s, alice.ID, "secret", "ip=192.0.2.7", false)
	create(t, s, alice.ID, "team", "ip=192.0.2.8", true)
	create(t, s, carol.ID, "mine", "feed=f", false)
	if got := list(t, s, carol.ID, false); got != "carol/mine" {
		t.Errorf("a constituent's own list: %s", got)
	}
	for _, shared := range []bool{true, false} {
		if got := list(t, s, carol.ID, shared); strings.Contains(got, "secret") {
			t.Errorf("another's private search listed: %s", got)
		}
	}
}

func testBounds(t *testing.T, st store.Store, s savedsearch.Searches) {
	ctx := t.Context()
	alice := createUser(t, st, "alice", auth.RoleAnalyst)
	for _, tc := range []struct {
		name, query string
		want        error
	}{
		{"", "ip=192.0.2.1", savedsearch.ErrName},
		{strings.Repeat("é", savedsearch.MaxNameLength+1), "ip=192.0.2.1", savedsearch.ErrName},
		{"tab\tname", "ip=192.0.2.1", savedsearch.ErrName},
		{"\xff", "ip=192.0.2.1", savedsearch.ErrName},
		{"long", "url=" + strings.Repeat("a", savedsearch.MaxQueryLength), savedsearch.ErrQueryLength},
	} {
		ss := savedsearch.Search{UserID: alice.ID, Name: tc.name, Query: tc.query}
		if err := s.CreateSavedSearch(ctx, &ss); !errors.Is(err, tc.want) {
			t.Errorf("CreateSavedSearch(%.20q) = %v, want %v", tc.name, err, tc.want)
		}
	}
	// The longest name is fine, in characters, not bytes.
	create(t, s, alice.ID, strings.Repeat("é", savedsearch.MaxNameLength), "ip=192.0.2.1", false)
	dup := savedsearch.Search{UserID: alice.ID, Name: strings.Repeat("é", savedsearch.MaxNameLength), Query: "ip=192.0.2.2"}
	if err := s.CreateSavedSearch(ctx, &dup); !errors.Is(err, savedsearch.ErrNameTaken) {
		t.Errorf("same name twice = %v, want ErrNameTaken", err)
	}
	for i := 1; i < savedsearch.MaxPerUser; i++ {
		create(t, s, alice.ID, fmt.Sprintf("search %03d", i), "ip=192.0.2.1", false)
	}
	over := savedsearch.Search{UserID: alice.ID, Name: "one too many", Query: "ip=192.0.2.1"}
	if err := s.CreateSavedSearch(ctx, &over); !errors.Is(err, savedsearch.ErrTooMany) {
		t.Errorf("search %d = %v, want ErrTooMany", savedsearch.MaxPerUser+1, err)
	}
	// The bound is per account.
	bob := createUser(t, st, "bob", auth.RoleAnalyst)
	create(t, s, bob.ID, "one too many", "ip=192.0.2.1", false)
	nobody := savedsearch.Search{UserID: 999999, Name: "orphan", Query: "ip=192.0.2.1"}
	if err := s.CreateSavedSearch(ctx, &nobody); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("search of no account = %v, want ErrNotFound", err)
	}
}

// testDeletedAccount: the searches of a deleted account are gone with it
// (the foreign key cascades), shared ones included.
func testDeletedAccount(t *testing.T, st store.Store, s savedsearch.Searches) {
	ctx := t.Context()
	alice := createUser(t, st, "alice", auth.RoleAnalyst)
	bob := createUser(t, st, "bob", auth.RoleAnalyst)
	shared := create(t, s, alice.ID, "shared", "ip=192.0.2.1", true)
	create(t, s, alice.ID, "private", "ip=192.0.2.2", false)
	create(t, s, bob.ID, "bob's", "ip=192.0.2.3", true)
	if _, err := st.DB().Exec(ctx, `DELETE FROM users WHERE id = ?`, alice.ID); err != nil {
		t.Fatalf("delete the account: %v", err)
	}
	if got := list(t, s, bob.ID, true); got != "bob/bob's*" {
		t.Errorf("bob's list after alice went: %s", got)
	}
	if _, err := s.GetSavedSearch(ctx, shared.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted account's search = %v, want ErrNotFound", err)
	}
	var n int
	if err := st.DB().QueryRow(ctx, `SELECT count(*) FROM saved_searches WHERE user_id = ?`, alice.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows of the deleted account left (%v)", n, err)
	}
}

// testColumns: a search keeps its columns in the table's order, and one
// saved without returns none; a column the table has not is refused.
func testColumns(t *testing.T, st store.Store, s savedsearch.Searches) {
	ctx := t.Context()
	alice := createUser(t, st, "alice", auth.RoleAnalyst)
	with := savedsearch.Search{UserID: alice.ID, Name: "with", Query: "type=scanner",
		Columns: []string{"feed.provider", "extra.constituency", "classification.identifier"}}
	if err := s.CreateSavedSearch(ctx, &with); err != nil {
		t.Fatal(err)
	}
	without := create(t, s, alice.ID, "without", "type=scanner", false)
	got, err := s.GetSavedSearch(ctx, with.ID)
	if want := "extra.constituency classification.identifier feed.provider"; err != nil || strings.Join(got.Columns, " ") != want {
		t.Errorf("GetSavedSearch columns = %q, %v; want %s", got.Columns, err, want)
	}
	all, err := s.ListSavedSearches(ctx, alice.ID, false)
	if err != nil || len(all) != 2 || len(all[0].Columns) != 3 || len(all[1].Columns) != 0 {
		t.Errorf("listed: %+v, %v", all, err)
	}
	if got, _ := s.GetSavedSearch(ctx, without.ID); got.Columns != nil {
		t.Errorf("a search without columns has %q", got.Columns)
	}
	// A rename keeps them.
	upd := savedsearch.Search{ID: with.ID, UserID: alice.ID, Name: "renamed"}
	if err := s.UpdateSavedSearch(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSavedSearch(ctx, with.ID); len(got.Columns) != 3 {
		t.Errorf("after a rename: %q", got.Columns)
	}
	var qe *savedsearch.QueryError
	bad := savedsearch.Search{UserID: alice.ID, Name: "bad", Query: "type=scanner", Columns: []string{"source.ip", "password"}}
	if err := s.CreateSavedSearch(ctx, &bad); !errors.As(err, &qe) || qe.Param != "columns" {
		t.Errorf("an unknown column = %v, want a refusal", err)
	}
}
