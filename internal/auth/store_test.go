package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

func openStore(t *testing.T) *database.DB {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := database.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func addUser(t *testing.T, st *database.DB, name string) auth.User {
	t.Helper()
	u, err := auth.NewUser(name, "", auth.RoleAnalyst, name+"'s long passphrase", "en")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSessions(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	a, b, c := addUser(t, st, "a").ID, addUser(t, st, "b").ID, addUser(t, st, "c").ID
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	m := auth.NewSessions(st, auth.SessionConfig{IdleTimeout: time.Hour, MaxAge: 3 * time.Hour}, nil)
	auth.SetSessionsNow(m, func() time.Time { return now })

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	s, err := m.Create(ctx, rec, req, a)
	if err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "vigil-session" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookies %+v", cookies)
	}
	value := cookies[0].Value
	if len(value) != 43 {
		t.Fatalf("cookie value %q is not 32 random bytes", value)
	}
	if _, err := st.GetSession(ctx, []byte(value)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the store holds the cookie value itself")
	}
	withCookie := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: "vigil-session", Value: value})
		return r
	}
	got, err := m.Load(ctx, withCookie())
	if err != nil || got.UserID != a || got.CSRFToken != s.CSRFToken || got.CSRFToken == "" {
		t.Fatalf("load: %+v %v", got, err)
	}
	if !auth.CheckCSRF(got, s.CSRFToken) || auth.CheckCSRF(got, "x") || auth.CheckCSRF(auth.Session{}, "") {
		t.Fatal("auth.CheckCSRF")
	}

	t.Run("activity extends the idle deadline", func(t *testing.T) {
		// Four idle gaps of 40 minutes: 2 h 40 in all, more than the idle
		// timeout but within the absolute one.
		for range 4 {
			now = now.Add(40 * time.Minute)
			if _, err := m.Load(ctx, withCookie()); err != nil {
				t.Fatalf("at %v: %v", now, err)
			}
		}
	})
	t.Run("absolute expiry", func(t *testing.T) {
		now = now.Add(30 * time.Minute) // 3 h 10 after login, 30 min idle
		if _, err := m.Load(ctx, withCookie()); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("err %v, want auth.ErrNoSession", err)
		}
	})
	t.Run("idle expiry", func(t *testing.T) {
		rec := httptest.NewRecorder()
		if _, err := m.Create(ctx, rec, req, b); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(rec.Result().Cookies()[0])
		now = now.Add(61 * time.Minute)
		if _, err := m.Load(ctx, r); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("destroy", func(t *testing.T) {
		rec := httptest.NewRecorder()
		if _, err := m.Create(ctx, rec, req, c); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(rec.Result().Cookies()[0])
		if err := m.Destroy(ctx, httptest.NewRecorder(), r); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Load(ctx, r); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("no cookie", func(t *testing.T) {
		if _, err := m.Load(ctx, httptest.NewRequest(http.MethodGet, "/", nil)); !errors.Is(err, auth.ErrNoSession) {
			t.Fatal(err)
		}
	})
	t.Run("secure", func(t *testing.T) {
		sm := auth.NewSessions(st, auth.SessionConfig{Secure: true}, nil)
		rec := httptest.NewRecorder()
		if _, err := sm.Create(ctx, rec, req, a); err != nil {
			t.Fatal(err)
		}
		c := rec.Result().Cookies()[0]
		if c.Name != "__Host-vigil-session" || !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Fatalf("%+v", c)
		}
	})
}

func TestSetupToken(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	first, err := auth.EnsureSetupToken(ctx, st)
	if err != nil || first == "" {
		t.Fatal(first, err)
	}
	second, _ := auth.EnsureSetupToken(ctx, st)
	if ok, _ := auth.CheckSetupToken(ctx, st, first); ok {
		t.Fatal("a replaced token still works")
	}
	if ok, _ := auth.CheckSetupToken(ctx, st, second); !ok {
		t.Fatal("the latest token does not work")
	}
	raw, _ := st.GetState(ctx, "setup-token")
	if string(raw) == second {
		t.Fatal("token stored in clear")
	}
	if _, err := auth.CreateFirstAdmin(ctx, st, "wrong", "root", "", "a long enough passphrase"); !errors.Is(err, auth.ErrSetupClosed) {
		t.Fatalf("wrong token: %v", err)
	}
	u, err := auth.CreateFirstAdmin(ctx, st, second, "root", "root@cert.example", "a long enough passphrase")
	if err != nil || u.Role != auth.RoleAdmin || u.ID == 0 {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := auth.CreateFirstAdmin(ctx, st, second, "root2", "", "a long enough passphrase"); !errors.Is(err, auth.ErrSetupClosed) {
		t.Fatalf("second use: %v", err)
	}
	if tok, err := auth.EnsureSetupToken(ctx, st); tok != "" || err != nil {
		t.Fatalf("with users: %q %v", tok, err)
	}
	entries, _ := st.ListAudit(ctx, auth.AuditQuery{})
	if len(entries) != 1 || entries[0].Action != "user.create" {
		t.Fatalf("audit %+v", entries)
	}
}

func TestNewAPIToken(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	owner := addUser(t, st, "owner").ID
	plain, tok, err := auth.NewAPIToken(ctx, st, owner, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^vgl_[a-z2-7]{52}$`).MatchString(plain) {
		t.Fatalf("token %q", plain)
	}
	got, err := st.GetAPITokenByHash(ctx, auth.HashAPIToken(plain))
	if err != nil || got.ID != tok.ID || got.UserID != owner || got.Name != "ci" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, _, err := auth.NewAPIToken(ctx, st, owner, "  "); err == nil {
		t.Fatal("empty name accepted")
	}
}

func TestLogins(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	u, err := auth.NewUser("ann", "", auth.RoleAnalyst, "ann's long passphrase", "en")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l, err := auth.NewLogins(st, auth.NewLimiter(auth.LimitPolicy{PairFailures: 3, Now: func() time.Time { return now }}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := l.CheckPassword(ctx, "192.0.2.1", "ann", "ann's long passphrase"); err != nil || got.ID != u.ID {
		t.Fatalf("%+v %v", got, err)
	}
	for _, name := range []string{"ann", "nobody"} {
		if _, err := l.CheckPassword(ctx, "192.0.2.2", name, "wrong"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	u.Disabled = true
	if err := st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CheckPassword(ctx, "192.0.2.2", "ann", "ann's long passphrase"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("disabled: %v", err)
	}
	u.Disabled = false
	if err := st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// ann has 2 failures from 192.0.2.2 (wrong password, disabled); the
	// third makes that address wait, even with the right password.
	l.CheckPassword(ctx, "192.0.2.2", "ann", "wrong")
	if _, err := l.CheckPassword(ctx, "192.0.2.2", "ann", "ann's long passphrase"); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("throttled: %v", err)
	}
	if _, err := l.CheckPassword(ctx, "192.0.2.5", "ann", "ann's long passphrase"); err != nil {
		t.Fatalf("ann from another address: %v", err)
	}
	entries, err := st.ListAudit(ctx, auth.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var throttles []auth.AuditEntry
	for _, e := range entries {
		if e.Action == auth.AuditThrottled {
			throttles = append(throttles, e)
		}
	}
	if len(throttles) != 1 || throttles[0].Target != "ann" || !regexp.MustCompile(`^3 failed logins from 192\.0\.2\.2; next attempt from it after 1m0s`).MatchString(throttles[0].Detail) {
		t.Fatalf("throttle audit entries: %+v", throttles)
	}

	t.Run("an administrator clears a throttle, audited", func(t *testing.T) {
		if got := l.Throttles(); len(got) != 1 || got[0].Account != "ann" {
			t.Fatalf("throttles %+v", got)
		}
		admin := auth.User{ID: 99, Name: "root"}
		if !l.ClearThrottle(ctx, admin, "ann", "192.0.2.2") || l.ClearThrottle(ctx, admin, "ann", "192.0.2.2") {
			t.Fatal("clear should succeed once")
		}
		if _, err := l.CheckPassword(ctx, "192.0.2.2", "ann", "ann's long passphrase"); err != nil {
			t.Fatalf("after clearing: %v", err)
		}
		entries, err := st.ListAudit(ctx, auth.AuditQuery{Limit: 1, Actor: "root"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Action != auth.AuditThrottleCleared || entries[0].Target != "ann" {
			t.Fatalf("clear audit: %+v", entries)
		}
	})
}

func TestLoginsAuditAccountCampaign(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	l, err := auth.NewLogins(st, auth.NewLimiter(auth.LimitPolicy{AccountSignal: 3}), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"} {
		if _, err := l.CheckPassword(ctx, ip, "admin", "guess"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("%s: %v", ip, err)
		}
	}
	entries, err := st.ListAudit(ctx, auth.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var targeted []auth.AuditEntry
	for _, e := range entries {
		if e.Action == auth.AuditTargeted {
			targeted = append(targeted, e)
		}
	}
	if len(targeted) != 1 || targeted[0].Target != "admin" || !strings.HasPrefix(targeted[0].Detail, "3 failed logins from any addresses") {
		t.Fatalf("campaign audit entries: %+v", targeted)
	}
}
