package storetest

// The contract for the team's own records: users, sessions, API tokens,
// the audit log, process state and leases.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := &store.User{Name: "alice", Email: "alice@cert.example", Role: store.RoleAnalyst,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "nl"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == 0 || u.Created.IsZero() {
		t.Errorf("CreateUser left ID %d, Created %v", u.ID, u.Created)
	}
	if err := s.CreateUser(ctx, &store.User{Name: "alice", Role: store.RoleAdmin}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateUser(taken name) = %v, want ErrConflict", err)
	}
	bob := &store.User{Name: "bob", Role: store.RolePublisher, TOTPSecret: "JBSWY3DPEHPK3PXP", Disabled: true}
	if err := s.CreateUser(ctx, bob); err != nil {
		t.Fatalf("CreateUser(bob): %v", err)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if !got.Created.Equal(u.Created) {
		t.Errorf("Created = %v, want %v", got.Created, u.Created)
	}
	got.Created = u.Created
	if got != *u {
		t.Errorf("GetUser = %+v, want %+v", got, *u)
	}
	byName, err := s.GetUserByName(ctx, "bob")
	if err != nil {
		t.Fatalf("GetUserByName: %v", err)
	}
	if byName.ID != bob.ID || !byName.Disabled || byName.TOTPSecret != bob.TOTPSecret || byName.Role != store.RolePublisher {
		t.Errorf("GetUserByName(bob) = %+v", byName)
	}
	if _, err := s.GetUser(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetUserByName(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUserByName(unknown) = %v, want ErrNotFound", err)
	}
	list, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Errorf("ListUsers = %+v", list)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
	upd := *u
	upd.Email = "alice@new.example"
	upd.Role = store.RoleAdmin
	upd.Disabled = true
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err = s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != upd.Email || got.Role != store.RoleAdmin || !got.Disabled {
		t.Errorf("after UpdateUser: %+v", got)
	}
	upd.Name = "bob"
	if err := s.UpdateUser(ctx, upd); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateUser(rename to a taken name) = %v, want ErrConflict", err)
	}
	if err := s.UpdateUser(ctx, store.User{ID: 999999, Name: "ghost"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := &store.User{Name: "alice", Role: store.RoleAnalyst}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	v := &store.User{Name: "victor", Role: store.RoleAnalyst}
	if err := s.CreateUser(ctx, v); err != nil {
		t.Fatal(err)
	}
	sess := store.Session{IDHash: []byte("hash-one-32-bytes..............."), UserID: u.ID, CSRFToken: "csrf1",
		Created: base, Expires: base.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	for _, other := range []store.Session{
		{IDHash: []byte("two"), UserID: u.ID, CSRFToken: "csrf2", Created: base, Expires: base.Add(-time.Minute)},
		{IDHash: []byte("three"), UserID: v.ID, CSRFToken: "csrf3", Created: base, Expires: base.Add(time.Hour)},
	} {
		if err := s.CreateSession(ctx, other); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	got, err := s.GetSession(ctx, sess.IDHash)
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if !bytes.Equal(got.IDHash, sess.IDHash) || got.UserID != u.ID || got.CSRFToken != "csrf1" ||
		!got.Created.Equal(base) || !got.Expires.Equal(sess.Expires) {
		t.Errorf("GetSession = %+v, want %+v", got, sess)
	}
	if _, err := s.GetSession(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteExpiredSessions(ctx, base); err != nil {
		t.Fatalf("DeleteExpiredSessions: %v", err)
	}
	if _, err := s.GetSession(ctx, []byte("two")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired session still there: %v", err)
	}
	if _, err := s.GetSession(ctx, sess.IDHash); err != nil {
		t.Errorf("live session removed with the expired: %v", err)
	}
	if err := s.DeleteSession(ctx, sess.IDHash); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := s.GetSession(ctx, sess.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session: %v, want ErrNotFound", err)
	}
	if err := s.CreateSession(ctx, store.Session{IDHash: []byte("four"), UserID: v.ID, Created: base, Expires: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUserSessions(ctx, v.ID); err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	for _, id := range []string{"three", "four"} {
		if _, err := s.GetSession(ctx, []byte(id)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session %s of a logged-out user: %v, want ErrNotFound", id, err)
		}
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := &store.User{Name: "alice", Role: store.RoleAnalyst}
	v := &store.User{Name: "victor", Role: store.RoleAnalyst}
	for _, x := range []*store.User{u, v} {
		if err := s.CreateUser(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	tok := &store.APIToken{UserID: u.ID, Name: "script", Hash: []byte("token-hash-1")}
	if err := s.CreateAPIToken(ctx, tok); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	if tok.ID == 0 || tok.Created.IsZero() {
		t.Errorf("CreateAPIToken left ID %d, Created %v", tok.ID, tok.Created)
	}
	tok2 := &store.APIToken{UserID: u.ID, Name: "cron", Hash: []byte("token-hash-2")}
	if err := s.CreateAPIToken(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAPITokenByHash(ctx, []byte("token-hash-1"))
	if err != nil {
		t.Fatalf("GetAPITokenByHash: %v", err)
	}
	if got.ID != tok.ID || got.UserID != u.ID || got.Name != "script" || !got.Created.Equal(tok.Created) || !got.LastUsed.IsZero() {
		t.Errorf("GetAPITokenByHash = %+v, want %+v", got, *tok)
	}
	if _, err := s.GetAPITokenByHash(ctx, []byte("other")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAPITokenByHash(unknown) = %v, want ErrNotFound", err)
	}
	used := base.Add(42 * time.Second)
	if err := s.TouchAPIToken(ctx, tok.ID, used); err != nil {
		t.Fatalf("TouchAPIToken: %v", err)
	}
	list, err := s.ListAPITokens(ctx, u.ID)
	if err != nil {
		t.Fatalf("ListAPITokens: %v", err)
	}
	if len(list) != 2 || list[0].ID != tok.ID || !list[0].LastUsed.Equal(used) || list[1].ID != tok2.ID {
		t.Errorf("ListAPITokens = %+v", list)
	}
	if list, _ := s.ListAPITokens(ctx, v.ID); len(list) != 0 {
		t.Errorf("victor's tokens = %+v, want none", list)
	}
	if err := s.DeleteAPIToken(ctx, v.ID, tok.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAPIToken(someone else's) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteAPIToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatalf("DeleteAPIToken: %v", err)
	}
	if _, err := s.GetAPITokenByHash(ctx, []byte("token-hash-1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted token: %v, want ErrNotFound", err)
	}
	if err := s.DeleteAPIToken(ctx, u.ID, tok.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAPIToken twice = %v, want ErrNotFound", err)
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 7 {
		actor := "alice"
		if i%3 == 0 {
			actor = "system"
		}
		if err := s.AddAudit(ctx, store.AuditEntry{Time: base.Add(time.Duration(i) * time.Second), UserID: int64(i % 2),
			Actor: actor, Action: "user.update", Target: fmt.Sprint("user/", i), Detail: fmt.Sprint("change ", i)}); err != nil {
			t.Fatalf("AddAudit: %v", err)
		}
	}
	all, err := s.ListAudit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(all) != 7 {
		t.Fatalf("ListAudit: %d entries, want 7", len(all))
	}
	for i, e := range all {
		n := 6 - i
		if e.Detail != fmt.Sprint("change ", n) || !e.Time.Equal(base.Add(time.Duration(n)*time.Second)) ||
			e.UserID != int64(n%2) || e.Action != "user.update" || e.Target != fmt.Sprint("user/", n) {
			t.Errorf("entry %d = %+v, want change %d (newest first)", i, e, n)
		}
	}
	page1, err := s.ListAudit(ctx, store.AuditQuery{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	page2, err := s.ListAudit(ctx, store.AuditQuery{Limit: 3, BeforeID: page1[2].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1) != 3 || len(page2) != 3 || page2[0].ID != all[3].ID || page2[2].ID != all[5].ID {
		t.Errorf("paging by 3: %+v then %+v", page1, page2)
	}
	sys, err := s.ListAudit(ctx, store.AuditQuery{Actor: "system"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sys) != 3 || sys[0].Detail != "change 6" || sys[2].Detail != "change 0" {
		t.Errorf("actor system: %+v", sys)
	}
}

func testState(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetState(ctx, "http/etag/feed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetState(missing) = %v, want ErrNotFound", err)
	}
	if err := s.PutState(ctx, "http/etag/feed", []byte(`"abc"`)); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.PutState(ctx, "http/etag/feed", []byte(`"def"`)); err != nil {
		t.Fatalf("PutState again: %v", err)
	}
	if err := s.PutState(ctx, "empty", nil); err != nil {
		t.Fatalf("PutState(empty): %v", err)
	}
	v, err := s.GetState(ctx, "http/etag/feed")
	if err != nil || string(v) != `"def"` {
		t.Errorf("GetState = %q, %v; want the second value", v, err)
	}
	if v, err := s.GetState(ctx, "empty"); err != nil || len(v) != 0 {
		t.Errorf("GetState(empty) = %q, %v; want an empty value", v, err)
	}
	if err := s.DeleteState(ctx, "http/etag/feed"); err != nil {
		t.Fatalf("DeleteState: %v", err)
	}
	if _, err := s.GetState(ctx, "http/etag/feed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted key: %v, want ErrNotFound", err)
	}
	if err := s.DeleteState(ctx, "never-set"); err != nil {
		t.Errorf("DeleteState(missing) = %v, want nil", err)
	}
	// ListState by prefix: "a.b." holds a.b.1 and a.b.2, not a.bc or a.b
	// itself; an empty prefix lists everything.
	for _, k := range []string{"a.b.1", "a.b.2", "a.bc", "a.b", "a.c~"} {
		if err := s.PutState(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, want := range map[string][]string{
		"a.b.": {"a.b.1", "a.b.2"},
		"a.b":  {"a.b", "a.b.1", "a.b.2", "a.bc"},
		"a.c":  {"a.c~"},
		"zzz":  nil,
		"":     {"a.b", "a.b.1", "a.b.2", "a.bc", "a.c~", "empty"},
	} {
		got, err := s.ListState(ctx, prefix)
		if err != nil {
			t.Fatalf("ListState(%q): %v", prefix, err)
		}
		keys := slices.Sorted(maps.Keys(got))
		if !slices.Equal(keys, want) {
			t.Errorf("ListState(%q) = %v, want %v", prefix, keys, want)
		}
		for _, k := range keys {
			if k != "empty" && string(got[k]) != k {
				t.Errorf("ListState(%q)[%s] = %q", prefix, k, got[k])
			}
		}
	}
}

func testLeases(t *testing.T, s store.Store) {
	ctx := t.Context()
	take := func(name, holder string, at time.Duration) bool {
		t.Helper()
		ok, err := s.TakeLease(ctx, name, holder, base.Add(at), time.Minute)
		if err != nil {
			t.Fatalf("TakeLease(%s, %s): %v", name, holder, err)
		}
		return ok
	}
	if !take("notify", "a", 0) {
		t.Fatal("a could not take a free lease")
	}
	if take("notify", "b", 30*time.Second) {
		t.Error("b took a's lease before it expired")
	}
	if !take("outbox", "b", 30*time.Second) {
		t.Error("b could not take another, free lease")
	}
	if !take("notify", "a", 50*time.Second) {
		t.Error("a could not renew its lease")
	}
	if take("notify", "b", 100*time.Second) {
		t.Error("b took a's renewed lease before it expired (a renewed at +50s for a minute)")
	}
	if !take("notify", "b", 110*time.Second) {
		t.Error("b could not take a's expired lease")
	}
	if take("notify", "a", 111*time.Second) {
		t.Error("a took back the lease b holds")
	}
	if err := s.ReleaseLease(ctx, "notify", "a"); err != nil {
		t.Fatal(err)
	}
	if take("notify", "a", 112*time.Second) {
		t.Error("a's release of b's lease freed it")
	}
	if err := s.ReleaseLease(ctx, "notify", "b"); err != nil {
		t.Fatal(err)
	}
	if !take("notify", "a", 113*time.Second) {
		t.Error("a could not take the lease b released")
	}
}
