// Package authtest is the accounts' contract: users, second factors,
// sessions, API tokens and the audit log, answered alike by authdb on
// SQLite and on PostgreSQL and by whatever wraps it (internal/sealed).
package authtest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// Run runs the contract. open returns a fresh database of its own for
// every call, migrated with constituencydb.Schema and authdb.Schema, and the accounts on it.
func Run(t *testing.T, open func(t *testing.T) (store.Store, auth.Accounts)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store, a auth.Accounts)
	}{
		{"users", testUsers},
		{"second factors", testSecondFactors},
		{"sessions", testSessions},
		{"api tokens", testTokens},
		{"audit", testAudit},
		{"user organisation", testUserOrganisation},
		{"delete user", testDeleteUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, a := open(t)
			tt.fn(t, st, a)
		})
	}
}

func testUsers(t *testing.T, st store.Store, a auth.Accounts) {
	ctx := t.Context()
	u := &auth.User{Name: "alice", Email: "alice@cert.example", Role: auth.RoleAnalyst,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "nl"}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == 0 || u.Created.IsZero() {
		t.Errorf("CreateUser left ID %d, Created %v", u.ID, u.Created)
	}
	if err := a.CreateUser(ctx, &auth.User{Name: "alice", Role: auth.RoleAdmin}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateUser(taken name) = %v, want ErrConflict", err)
	}
	bob := &auth.User{Name: "bob", Role: auth.RolePublisher, TOTPSecret: "JBSWY3DPEHPK3PXP", Disabled: true}
	if err := a.CreateUser(ctx, bob); err != nil {
		t.Fatalf("CreateUser(bob): %v", err)
	}
	got, err := a.GetUser(ctx, u.ID)
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
	byName, err := a.GetUserByName(ctx, "bob")
	if err != nil {
		t.Fatalf("GetUserByName: %v", err)
	}
	if byName.ID != bob.ID || !byName.Disabled || byName.TOTPSecret != bob.TOTPSecret || byName.Role != auth.RolePublisher {
		t.Errorf("GetUserByName(bob) = %+v", byName)
	}
	if _, err := a.GetUser(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := a.GetUserByName(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUserByName(unknown) = %v, want ErrNotFound", err)
	}
	list, err := a.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Errorf("ListUsers = %+v", list)
	}
	if n, err := a.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
	upd := *u
	upd.Email = "alice@new.example"
	upd.Role = auth.RoleAdmin
	upd.Disabled = true
	if err := a.UpdateUser(ctx, upd); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err = a.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != upd.Email || got.Role != auth.RoleAdmin || !got.Disabled {
		t.Errorf("after UpdateUser: %+v", got)
	}
	upd.Name = "bob"
	if err := a.UpdateUser(ctx, upd); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateUser(rename to a taken name) = %v, want ErrConflict", err)
	}
	if err := a.UpdateUser(ctx, auth.User{ID: 999999, Name: "ghost"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
	}
}

func testSessions(t *testing.T, st store.Store, a auth.Accounts) {
	ctx := t.Context()
	u := &auth.User{Name: "alice", Role: auth.RoleAnalyst}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	v := &auth.User{Name: "victor", Role: auth.RoleAnalyst}
	if err := a.CreateUser(ctx, v); err != nil {
		t.Fatal(err)
	}
	sess := auth.Session{IDHash: []byte("hash-one-32-bytes..............."), UserID: u.ID, CSRFToken: "csrf1",
		Created: base, Expires: base.Add(time.Hour)}
	if err := a.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	for _, other := range []auth.Session{
		{IDHash: []byte("two"), UserID: u.ID, CSRFToken: "csrf2", Created: base, Expires: base.Add(-time.Minute)},
		{IDHash: []byte("three"), UserID: v.ID, CSRFToken: "csrf3", Created: base, Expires: base.Add(time.Hour)},
	} {
		if err := a.CreateSession(ctx, other); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	got, err := a.GetSession(ctx, sess.IDHash)
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if !bytes.Equal(got.IDHash, sess.IDHash) || got.UserID != u.ID || got.CSRFToken != "csrf1" ||
		!got.Created.Equal(base) || !got.Expires.Equal(sess.Expires) {
		t.Errorf("GetSession = %+v, want %+v", got, sess)
	}
	if _, err := a.GetSession(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(unknown) = %v, want ErrNotFound", err)
	}
	if err := a.DeleteExpiredSessions(ctx, base); err != nil {
		t.Fatalf("DeleteExpiredSessions: %v", err)
	}
	if _, err := a.GetSession(ctx, []byte("two")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired session still there: %v", err)
	}
	if _, err := a.GetSession(ctx, sess.IDHash); err != nil {
		t.Errorf("live session removed with the expired: %v", err)
	}
	if err := a.DeleteSession(ctx, sess.IDHash); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := a.GetSession(ctx, sess.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session: %v, want ErrNotFound", err)
	}
	if err := a.CreateSession(ctx, auth.Session{IDHash: []byte("four"), UserID: v.ID, Created: base, Expires: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteUserSessions(ctx, v.ID); err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	for _, id := range []string{"three", "four"} {
		if _, err := a.GetSession(ctx, []byte(id)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session %s of a logged-out user: %v, want ErrNotFound", id, err)
		}
	}
}

func testTokens(t *testing.T, st store.Store, a auth.Accounts) {
	ctx := t.Context()
	u := &auth.User{Name: "alice", Role: auth.RoleAnalyst}
	v := &auth.User{Name: "victor", Role: auth.RoleAnalyst}
	for _, x := range []*auth.User{u, v} {
		if err := a.CreateUser(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	tok := &auth.APIToken{UserID: u.ID, Name: "script", Hash: []byte("token-hash-1")}
	if err := a.CreateAPIToken(ctx, tok); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	if tok.ID == 0 || tok.Created.IsZero() {
		t.Errorf("CreateAPIToken left ID %d, Created %v", tok.ID, tok.Created)
	}
	tok2 := &auth.APIToken{UserID: u.ID, Name: "cron", Hash: []byte("token-hash-2")}
	if err := a.CreateAPIToken(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	got, err := a.GetAPITokenByHash(ctx, []byte("token-hash-1"))
	if err != nil {
		t.Fatalf("GetAPITokenByHash: %v", err)
	}
	if got.ID != tok.ID || got.UserID != u.ID || got.Name != "script" || !got.Created.Equal(tok.Created) || !got.LastUsed.IsZero() {
		t.Errorf("GetAPITokenByHash = %+v, want %+v", got, *tok)
	}
	if _, err := a.GetAPITokenByHash(ctx, []byte("other")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAPITokenByHash(unknown) = %v, want ErrNotFound", err)
	}
	used := base.Add(42 * time.Second)
	if err := a.TouchAPIToken(ctx, tok.ID, used); err != nil {
		t.Fatalf("TouchAPIToken: %v", err)
	}
	list, err := a.ListAPITokens(ctx, u.ID)
	if err != nil {
		t.Fatalf("ListAPITokens: %v", err)
	}
	if len(list) != 2 || list[0].ID != tok.ID || !list[0].LastUsed.Equal(used) || list[1].ID != tok2.ID {
		t.Errorf("ListAPITokens = %+v", list)
	}
	if list, _ := a.ListAPITokens(ctx, v.ID); len(list) != 0 {
		t.Errorf("victor's tokens = %+v, want none", list)
	}
	if err := a.DeleteAPIToken(ctx, v.ID, tok.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAPIToken(someone else's) = %v, want ErrNotFound", err)
	}
	if err := a.DeleteAPIToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatalf("DeleteAPIToken: %v", err)
	}
	if _, err := a.GetAPITokenByHash(ctx, []byte("token-hash-1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted token: %v, want ErrNotFound", err)
	}
	if err := a.DeleteAPIToken(ctx, u.ID, tok.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAPIToken twice = %v, want ErrNotFound", err)
	}
}

func testAudit(t *testing.T, st store.Store, a auth.Accounts) {
	ctx := t.Context()
	for i := range 7 {
		actor := "alice"
		if i%3 == 0 {
			actor = "system"
		}
		if err := a.AddAudit(ctx, auth.AuditEntry{Time: base.Add(time.Duration(i) * time.Second), UserID: int64(i % 2),
			Actor: actor, Action: "user.update", Target: fmt.Sprint("user/", i), Detail: fmt.Sprint("change ", i)}); err != nil {
			t.Fatalf("AddAudit: %v", err)
		}
	}
	all, err := a.ListAudit(ctx, auth.AuditQuery{})
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
	page1, err := a.ListAudit(ctx, auth.AuditQuery{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	page2, err := a.ListAudit(ctx, auth.AuditQuery{Limit: 3, BeforeID: page1[2].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1) != 3 || len(page2) != 3 || page2[0].ID != all[3].ID || page2[2].ID != all[5].ID {
		t.Errorf("paging by 3: %+v then %+v", page1, page2)
	}
	sys, err := a.ListAudit(ctx, auth.AuditQuery{Actor: "system"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sys) != 3 || sys[0].Detail != "change 6" || sys[2].Detail != "change 0" {
		t.Errorf("actor system: %+v", sys)
	}
}

// testSecondFactors: a TOTP step is accepted once and only moving
// forward, also under concurrent claims; recovery codes are per user and
// spent once; replacing them drops the old ones.
func testSecondFactors(t *testing.T, st store.Store, a auth.Accounts) {
	ctx := t.Context()
	alice := &auth.User{Name: "alice", Role: auth.RoleAnalyst, TOTPSecret: "JBSWY3DPEHPK3PXP"}
	bob := &auth.User{Name: "bob", Role: auth.RoleAnalyst}
	for _, u := range []*auth.User{alice, bob} {
		if err := a.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Name, err)
		}
	}
	t.Run("totp step once and forward", func(t *testing.T) { testTOTPStepOnce(t, a, alice.ID, bob.ID) })
	t.Run("concurrent claims of one step have one winner", func(t *testing.T) { testTOTPConcurrentClaims(t, a, alice.ID) })
	t.Run("user update keeps the last step", func(t *testing.T) { testTOTPAfterUserUpdate(t, a, alice.ID) })
	t.Run("recovery codes", func(t *testing.T) { testRecoveryCodes(t, a, alice.ID, bob.ID) })
}

// testTOTPStepOnce: a TOTP step is accepted once and only moving forward,
// per user.
func testTOTPStepOnce(t *testing.T, a auth.Accounts, aliceID, bobID int64) {
	ctx := t.Context()
	for _, c := range []struct {
		step int64
		want bool
	}{{100, true}, {100, false}, {99, false}, {101, true}, {50, false}} {
		got, err := a.ClaimTOTPStep(ctx, aliceID, c.step)
		if err != nil {
			t.Fatalf("ClaimTOTPStep(%d): %v", c.step, err)
		}
		if got != c.want {
			t.Errorf("ClaimTOTPStep(%d) = %v, want %v", c.step, got, c.want)
		}
	}
	// Another user's steps are their own.
	if got, err := a.ClaimTOTPStep(ctx, bobID, 100); err != nil || !got {
		t.Errorf("ClaimTOTPStep(bob, 100) = %v, %v; want true", got, err)
	}
	if got, err := a.ClaimTOTPStep(ctx, 999999, 100); err != nil || got {
		t.Errorf("ClaimTOTPStep(unknown user) = %v, %v; want false", got, err)
	}
}

// testTOTPConcurrentClaims: concurrent claims of one step have one
// winner.
func testTOTPConcurrentClaims(t *testing.T, a auth.Accounts, aliceID int64) {
	ctx := t.Context()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := a.ClaimTOTPStep(ctx, aliceID, 500)
			if err != nil {
				t.Errorf("ClaimTOTPStep: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d claims of one step succeeded, want 1", wins.Load())
	}
}

// testTOTPAfterUserUpdate: updating a user keeps its last TOTP step.
func testTOTPAfterUserUpdate(t *testing.T, a auth.Accounts, aliceID int64) {
	ctx := t.Context()
	u, err := a.GetUser(ctx, aliceID)
	if err != nil {
		t.Fatal(err)
	}
	u.Email = "alice@cert.example"
	if err := a.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := a.ClaimTOTPStep(ctx, aliceID, 500); err != nil || got {
		t.Errorf("ClaimTOTPStep(500) after UpdateUser = %v, %v; want false", got, err)
	}
}

// testRecoveryCodes: recovery codes are per user and spent once;
// replacing them drops the old ones.
func testRecoveryCodes(t *testing.T, a auth.Accounts, aliceID, bobID int64) {
	ctx := t.Context()
	codes := [][]byte{[]byte("hash-1"), []byte("hash-2"), []byte("hash-3")}
	if err := a.ReplaceRecoveryCodes(ctx, aliceID, codes); err != nil {
		t.Fatalf("ReplaceRecoveryCodes: %v", err)
	}
	if n, err := a.CountRecoveryCodes(ctx, aliceID); err != nil || n != 3 {
		t.Errorf("CountRecoveryCodes = %d, %v; want 3", n, err)
	}
	if ok, err := a.UseRecoveryCode(ctx, bobID, []byte("hash-1")); err != nil || ok {
		t.Errorf("UseRecoveryCode(bob, alice's code) = %v, %v; want false", ok, err)
	}
	if ok, err := a.UseRecoveryCode(ctx, aliceID, []byte("hash-1")); err != nil || !ok {
		t.Errorf("UseRecoveryCode(first use) = %v, %v; want true", ok, err)
	}
	if ok, err := a.UseRecoveryCode(ctx, aliceID, []byte("hash-1")); err != nil || ok {
		t.Errorf("UseRecoveryCode(second use) = %v, %v; want false", ok, err)
	}
	if n, err := a.CountRecoveryCodes(ctx, aliceID); err != nil || n != 2 {
		t.Errorf("CountRecoveryCodes after one use = %d, %v; want 2", n, err)
	}
	if err := a.ReplaceRecoveryCodes(ctx, aliceID, [][]byte{[]byte("hash-9")}); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.UseRecoveryCode(ctx, aliceID, []byte("hash-2")); err != nil || ok {
		t.Errorf("UseRecoveryCode(replaced code) = %v, %v; want false", ok, err)
	}
	if err := a.ReplaceRecoveryCodes(ctx, aliceID, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := a.CountRecoveryCodes(ctx, aliceID); err != nil || n != 0 {
		t.Errorf("CountRecoveryCodes after removing all = %d, %v; want 0", n, err)
	}
	if err := a.ReplaceRecoveryCodes(ctx, 999999, codes); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceRecoveryCodes(unknown user) = %v, want ErrNotFound", err)
	}
}

func testUserOrganisation(t *testing.T, st store.Store, acc auth.Accounts) {
	ctx := t.Context()
	orgA := createOrg(t, st, "a")
	orgB := createOrg(t, st, "b")
	u := &auth.User{Name: "carla", Email: "carla@a.example", Role: auth.RoleConstituent, OrgID: orgA.ID}
	if err := acc.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	team := &auth.User{Name: "ted", Role: auth.RoleAnalyst}
	if err := acc.CreateUser(ctx, team); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	check := func(step string, id, want int64) {
		t.Helper()
		got, err := acc.GetUser(ctx, id)
		if err != nil || got.OrgID != want {
			t.Errorf("%s: GetUser: OrgID %d, %v; want %d", step, got.OrgID, err, want)
		}
		byName, err := acc.GetUserByName(ctx, got.Name)
		if err != nil || byName.OrgID != want {
			t.Errorf("%s: GetUserByName: OrgID %d, %v; want %d", step, byName.OrgID, err, want)
		}
		list, err := acc.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if l.ID == id && l.OrgID != want {
				t.Errorf("%s: ListUsers: OrgID %d, want %d", step, l.OrgID, want)
			}
		}
	}
	check("created", u.ID, orgA.ID)
	check("team user", team.ID, 0)
	u.OrgID = orgB.ID
	if err := acc.UpdateUser(ctx, *u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	check("moved", u.ID, orgB.ID)
	u.OrgID = 0
	if err := acc.UpdateUser(ctx, *u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	check("made a team user", u.ID, 0)
	if err := acc.CreateUser(ctx, &auth.User{Name: "nobody", Role: auth.RoleConstituent, OrgID: 999999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateUser with an unknown organisation = %v, want ErrNotFound", err)
	}
	u.OrgID = 999999
	if err := acc.UpdateUser(ctx, *u); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser to an unknown organisation = %v, want ErrNotFound", err)
	}
	check("refused move", u.ID, 0)
}

// testDeleteUser: deleting an account removes it with its sessions, API
// tokens and recovery codes and keeps its audit entries; the last enabled
// administrator is never deleted (a disabled one does not count), and an
// unknown account is ErrNotFound.
func testDeleteUser(t *testing.T, st store.Store, a auth.Accounts) {
	ctx := t.Context()
	admin := &auth.User{Name: "root", Role: auth.RoleAdmin}
	gone := &auth.User{Name: "gone", Role: auth.RoleAdmin}
	dormant := &auth.User{Name: "dormant", Role: auth.RoleAdmin, Disabled: true}
	for _, u := range []*auth.User{admin, gone, dormant} {
		if err := a.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Name, err)
		}
	}
	sess := auth.Session{IDHash: []byte("gone-session"), UserID: gone.ID, CSRFToken: "c", Created: base, Expires: base.Add(time.Hour)}
	if err := a.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	tok := &auth.APIToken{UserID: gone.ID, Name: "script", Hash: []byte("gone-token-hash")}
	if err := a.CreateAPIToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := a.ReplaceRecoveryCodes(ctx, gone.ID, [][]byte{[]byte("code")}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddAudit(ctx, auth.AuditEntry{Time: base, UserID: gone.ID, Actor: "gone", Action: "login", Target: "gone"}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteUser(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := a.GetUser(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(deleted) = %v, want ErrNotFound", err)
	}
	if _, err := a.GetSession(ctx, sess.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(of a deleted user) = %v, want ErrNotFound", err)
	}
	if _, err := a.GetAPITokenByHash(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAPITokenByHash(of a deleted user) = %v, want ErrNotFound", err)
	}
	if n, err := a.CountRecoveryCodes(ctx, gone.ID); err != nil || n != 0 {
		t.Errorf("CountRecoveryCodes(deleted user) = %d, %v; want 0", n, err)
	}
	if entries, err := a.ListAudit(ctx, auth.AuditQuery{Actor: "gone"}); err != nil || len(entries) != 1 {
		t.Errorf("audit of a deleted user = %+v, %v; want its entry kept", entries, err)
	}
	if err := a.DeleteUser(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteUser(deleted) = %v, want ErrNotFound", err)
	}
	if err := a.DeleteUser(ctx, admin.ID); !errors.Is(err, auth.ErrLastAdmin) {
		t.Errorf("DeleteUser(last enabled admin) = %v, want ErrLastAdmin", err)
	}
	if _, err := a.GetUser(ctx, admin.ID); err != nil {
		t.Errorf("the last admin after a refused delete: %v", err)
	}
	if err := a.DeleteUser(ctx, dormant.ID); err != nil {
		t.Errorf("DeleteUser(disabled admin) = %v", err)
	}
}

// The shared helpers of the contract suites.
var (
	createOrg = storetest.Organisation
)
