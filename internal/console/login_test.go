package console

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
)

func TestLogin(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("alice", auth.RoleAnalyst, "alice's long passphrase")

	t.Run("anonymous is sent to login", func(t *testing.T) {
		r := env.browser().get("/events?ip=192.0.2.1")
		if r.status != http.StatusSeeOther || r.location != "/login?next=%2Fevents%3Fip%3D192.0.2.1" {
			t.Fatalf("status %d location %q", r.status, r.location)
		}
	})
	t.Run("same answer for a wrong password and an unknown name", func(t *testing.T) {
		b := env.browser()
		b.get("/login")
		wrong := b.post("/login", url.Values{"name": {"alice"}, "password": {"not her password"}})
		unknown := b.post("/login", url.Values{"name": {"mallory"}, "password": {"not her password"}})
		for _, r := range []response{wrong, unknown} {
			if r.status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", r.status)
			}
			mustContain(t, r.body, "Invalid name or password.")
		}
		if r := b.get("/"); r.status != http.StatusSeeOther {
			t.Fatalf("a failed login gave a session: %d", r.status)
		}
	})
	t.Run("success", func(t *testing.T) {
		b := env.browser()
		b.get("/login?next=/feeds")
		r := b.post("/login", url.Values{"name": {"alice"}, "password": {"alice's long passphrase"}, "next": {"/feeds"}})
		if r.status != http.StatusSeeOther || r.location != "/feeds" {
			t.Fatalf("status %d location %q", r.status, r.location)
		}
		var cookie string
		for _, c := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "vigil-session=") {
				cookie = c
			}
		}
		for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("session cookie %q lacks %s", cookie, attr)
			}
		}
		if r := b.get("/feeds"); r.status != http.StatusOK {
			t.Fatalf("after login /feeds: %d", r.status)
		}
	})
	t.Run("next cannot leave the site", func(t *testing.T) {
		b := env.browser()
		b.get("/login")
		r := b.post("/login", url.Values{"name": {"alice"}, "password": {"alice's long passphrase"}, "next": {"//evil.example/x"}})
		if r.location != "/" {
			t.Fatalf("redirected to %q", r.location)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		b := env.browser()
		b.login("alice", "alice's long passphrase")
		if r := b.post("/logout", url.Values{}); r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		if r := b.get("/"); r.status != http.StatusSeeOther {
			t.Fatalf("still signed in after logout: %d", r.status)
		}
	})
	actions := env.auditActions()
	for _, want := range []string{"login.failure", "login.success", "logout"} {
		if !contains(actions, want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Run("account from one address", func(t *testing.T) {
		env := newEnv(t, nil)
		env.addUser("bob", auth.RoleAnalyst, "bob's long passphrase")
		b := env.browser()
		b.get("/login")
		for i := range 5 {
			if r := b.post("/login", url.Values{"name": {"bob"}, "password": {"guess"}}); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d", i, r.status)
			}
		}
		// This address waits now: even the right password is refused.
		r := b.post("/login", url.Values{"name": {"bob"}, "password": {"bob's long passphrase"}})
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("after 5 failures: status %d", r.status)
		}
		mustContain(t, r.body, "Too many failed attempts from your address for this account; try again in 1 minute.")
		if got := r.header.Get("Retry-After"); got != "60" {
			t.Errorf("Retry-After %q, want 60", got)
		}
		if !contains(env.auditActions(), auth.AuditThrottled) {
			t.Error("throttle not audited")
		}
	})
	t.Run("address spraying names", func(t *testing.T) {
		// Twenty different names from one address make the address wait.
		env := newEnv(t, nil)
		env.addUser("carol", auth.RoleAnalyst, "carol's long passphrase")
		b := env.browser()
		b.get("/login")
		for i := range 20 {
			b.post("/login", url.Values{"name": {fmt.Sprintf("name%d", i)}, "password": {"guess"}})
		}
		r := b.post("/login", url.Values{"name": {"carol"}, "password": {"carol's long passphrase"}})
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", r.status)
		}
		mustContain(t, r.body, "Too many failed logins from your address; try again in 1 minute.")
	})
}

// browserFrom is a browser whose connections come from the loopback
// address local (127.0.0.2, …), a client at another address.
func (e *testEnv) browserFrom(local string) *browser {
	b := e.browser()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	b.client.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

func TestLoginGuessingDoesNotLockOutTheOwner(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("admin", auth.RoleAdmin, "the admin's long passphrase")
	attacker := env.browserFrom("127.0.0.2")
	attacker.get("/login")
	refused := 0
	for range 50 {
		r := attacker.post("/login", url.Values{"name": {"admin"}, "password": {"guess"}})
		if r.status == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 45 {
		t.Errorf("%d of 50 guesses refused, want all after the 5 free ones", refused)
	}
	owner := env.browserFrom("127.0.0.3")
	owner.login("admin", "the admin's long passphrase")
	if r := owner.get("/users"); r.status != http.StatusOK {
		t.Fatalf("the owner from another address: %d", r.status)
	}
}

func TestLoginBackoffWithClock(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	env := newEnv(t, func(c *Config) {
		c.Limiter = auth.NewLimiter(auth.LimitPolicy{Now: func() time.Time { return now }})
	})
	env.addUser("erin", auth.RoleAnalyst, "erin's long passphrase")
	b := env.browser()
	b.get("/login")
	guess := func() response { return b.post("/login", url.Values{"name": {"erin"}, "password": {"guess"}}) }
	for range 5 {
		guess()
	}
	for _, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		r := guess()
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != strconv.Itoa(int(wait/time.Second)) {
			t.Fatalf("before the %v wait: status %d Retry-After %q", wait, r.status, r.header.Get("Retry-After"))
		}
		want := fmt.Sprintf("try again in %d minutes", int(wait/time.Minute))
		if wait == time.Minute {
			want = "try again in 1 minute"
		}
		mustContain(t, r.body, want)
		now = now.Add(wait)
		if r := guess(); r.status != http.StatusUnauthorized {
			t.Fatalf("after the %v wait: status %d", wait, r.status)
		}
	}
	now = now.Add(8 * time.Minute)
	b.login("erin", "erin's long passphrase")
}

func TestThrottlesPage(t *testing.T) {
	env := newTeamEnv(t, nil)
	attacker := env.browserFrom("127.0.0.2")
	attacker.get("/login")
	for range 6 {
		attacker.post("/login", url.Values{"name": {"analyst"}, "password": {"guess"}})
	}
	admin := env.admin()
	if r := admin.get("/users"); !strings.Contains(r.body, `href="/users/throttles"`) {
		t.Error("the users page does not link the throttles")
	}
	r := admin.get("/users/throttles")
	if r.status != http.StatusOK {
		t.Fatalf("throttles page: %d", r.status)
	}
	mustContain(t, r.body, "<td>analyst</td>", "<td>127.0.0.2</td>", "<td>5</td>")

	t.Run("an analyst may not see it", func(t *testing.T) {
		b := env.browser()
		b.login("analyst", analystPassword)
		if r := b.get("/users/throttles"); r.status != http.StatusForbidden {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("clearing needs the CSRF token", func(t *testing.T) {
		r := admin.post("/users/throttles/clear", url.Values{"account": {"analyst"}, "client": {"127.0.0.2"}, "csrf": {"forged"}})
		if r.status != http.StatusForbidden {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("clear", func(t *testing.T) {
		admin.get("/users/throttles")
		r := admin.post("/users/throttles/clear", url.Values{"account": {"analyst"}, "client": {"127.0.0.2"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d", r.status)
		}
		r = admin.get(r.location)
		mustContain(t, r.body, "The throttle was cleared", `id="no-throttles"`)
		if !contains(env.auditActions(), auth.AuditThrottleCleared) {
			t.Error("clearing not audited")
		}
		if r := attacker.post("/login", url.Values{"name": {"analyst"}, "password": {"guess"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("still throttled after clearing: %d", r.status)
		}
		r = admin.post("/users/throttles/clear", url.Values{"account": {"analyst"}, "client": {"127.0.0.9"}})
		if r.status != http.StatusNotFound {
			t.Fatalf("clearing an absent throttle: %d", r.status)
		}
	})
}

func TestLoginTOTP(t *testing.T) {
	env := newEnv(t, nil)
	u := env.addUser("dave", auth.RoleAnalyst, "dave's long passphrase")
	e, err := auth.EnrolTOTP("Vigil", "dave")
	if err != nil {
		t.Fatal(err)
	}
	u.TOTPSecret = e.Secret
	if err := env.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.get("/login")
	r := b.post("/login", url.Values{"name": {"dave"}, "password": {"dave's long passphrase"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="/login/totp"`) {
		t.Fatalf("password step: status %d body %.300s", r.status, r.body)
	}
	if r := b.get("/"); r.status != http.StatusSeeOther {
		t.Fatal("signed in before the second factor")
	}
	r = b.post("/login/totp", url.Values{"code": {"000000"}})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("wrong code: status %d", r.status)
	}
	mustContain(t, r.body, "That code is not correct")
	code, err := auth.TOTPCode(e.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r = b.post("/login/totp", url.Values{"code": {code}})
	if r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("right code: status %d location %q body %.300s", r.status, r.location, r.body)
	}
	if r := b.get("/"); r.status != http.StatusOK {
		t.Fatalf("after the second factor: %d", r.status)
	}
	t.Run("no second step without the password", func(t *testing.T) {
		other := env.browser()
		other.get("/login")
		if r := other.post("/login/totp", url.Values{"code": {code}}); r.status != http.StatusUnauthorized {
			t.Fatalf("status %d", r.status)
		}
	})
}

func TestCSRF(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("erin", auth.RoleAnalyst, "erin's long passphrase")
	b := env.browser()
	b.login("erin", "erin's long passphrase")
	for name, token := range map[string]string{"missing": "", "wrong": "not-the-token"} {
		t.Run(name, func(t *testing.T) {
			r := b.post("/account/language", url.Values{"language": {"nl"}, "csrf": {token}})
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", r.status)
			}
			mustContain(t, r.body, "This form has expired or did not come from this site")
		})
	}
	u, _ := env.store.GetUserByName(context.Background(), "erin")
	if u.Language != "en" {
		t.Fatalf("refused post changed the language to %q", u.Language)
	}
	t.Run("right token", func(t *testing.T) {
		r := b.post("/account/language", url.Values{"language": {"nl"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("login form", func(t *testing.T) {
		other := env.browser()
		other.get("/login")
		r := other.post("/login", url.Values{"name": {"erin"}, "password": {"erin's long passphrase"}, "csrf": {""}})
		if r.status != http.StatusForbidden {
			t.Fatalf("login without form token: %d", r.status)
		}
	})
	t.Run("post without session", func(t *testing.T) {
		other := env.browser()
		if r := other.post("/account/language", url.Values{"language": {"fr"}, "csrf": {""}}); r.status != http.StatusForbidden {
			t.Fatalf("status %d", r.status)
		}
	})
}

func TestSetup(t *testing.T) {
	env := newEnv(t, nil)
	ctx := context.Background()
	token, err := auth.EnsureSetupToken(ctx, env.store)
	if err != nil || token == "" {
		t.Fatalf("token %q err %v", token, err)
	}
	b := env.browser()
	if r := b.get("/setup?token=wrong"); r.status != http.StatusForbidden {
		t.Fatalf("wrong token: %d", r.status)
	}
	if r := b.get("/setup?token=" + token); r.status != http.StatusOK {
		t.Fatalf("setup page: %d", r.status)
	}
	form := url.Values{"token": {token}, "name": {"root"}, "email": {"root@cert.example"}, "password": {"the first admin's passphrase"}, "password2": {"the first admin's passphrase"}}
	short := url.Values{"token": {token}, "name": {"root"}, "password": {"short"}, "password2": {"short"}}
	if r := b.post("/setup", short); r.status != http.StatusBadRequest || !strings.Contains(r.body, "too short") {
		t.Fatalf("short password: %d", r.status)
	}
	r := b.post("/setup", form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("create admin: status %d body %.300s", r.status, r.body)
	}
	if r := b.get("/users"); r.status != http.StatusOK {
		t.Fatalf("new admin on /users: %d", r.status)
	}
	u, err := env.store.GetUserByName(ctx, "root")
	if err != nil || u.Role != auth.RoleAdmin {
		t.Fatalf("user %+v err %v", u, err)
	}
	again := env.browser()
	again.get("/login")
	form.Set("name", "second")
	if r := again.post("/setup", form); r.status != http.StatusForbidden {
		t.Fatalf("token used twice: %d", r.status)
	}
	if n, _ := env.store.CountUsers(ctx); n != 1 {
		t.Fatalf("%d users after setup", n)
	}
	if tok, err := auth.EnsureSetupToken(ctx, env.store); tok != "" || err != nil {
		t.Fatalf("setup token with users present: %q %v", tok, err)
	}
}
