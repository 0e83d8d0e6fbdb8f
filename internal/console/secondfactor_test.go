package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
)

var (
	totpSecretOnPage = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)
	recoveryCodeLine = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// enrolled signs name in with a second factor set up through the account
// page and returns the browser, the secret and the recovery codes shown.
func enrolled(t *testing.T, env *testEnv, name, password string) (*browser, string, []string) {
	t.Helper()
	b := env.browser()
	b.login(name, password)
	r := b.post("/account/totp", url.Values{})
	m := totpSecretOnPage.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("enrolment page: %.500s", r.body)
	}
	code, _ := auth.TOTPCode(m[1], time.Now())
	r = b.post("/account/totp/confirm", url.Values{"secret": {m[1]}, "code": {code}, "password": {password}})
	if r.status != http.StatusOK {
		t.Fatalf("confirm: %d %.500s", r.status, r.body)
	}
	var codes []string
	for _, c := range recoveryCodeLine.FindAllStringSubmatch(r.body, -1) {
		codes = append(codes, c[1])
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes shown, want %d: %.800s", len(codes), auth.RecoveryCodeCount, r.body)
	}
	return b, m[1], codes
}

// TestSecondFactorChangeNeedsPasswordAndCode: a session alone — stolen,
// or a browser left open — cannot replace or remove the second factor nor
// make new recovery codes.
func TestSecondFactorChangeNeedsPasswordAndCode(t *testing.T) {
	// The refusals below are more than the default limit of failures.
	env := newEnv(t, func(c *Config) {
		c.Limiter = auth.NewLimiter(auth.LimitPolicy{PairFailures: 100, AddressFailures: 100})
	})
	u := env.addUser("gina", auth.RoleAnalyst, "gina's long passphrase")
	b, secret, codes := enrolled(t, env, "gina", "gina's long passphrase")
	if r := b.get("/account"); strings.Contains(r.body, codes[0]) {
		t.Fatal("recovery codes shown a second time")
	}
	later := time.Now().Add(30 * time.Second)
	current, _ := auth.TOTPCode(secret, later)
	s := &secondFactorSteps{env: env, b: b, u: u, secret: secret, codes: codes, current: current}
	s.checkRefused(t)
	t.Run("replace with password and current code", s.replace)
	t.Run("disable with password and a recovery code", s.disable)

	for _, want := range []string{"user.totp.enable", "user.totp.replace", "user.totp.disable", "user.recovery.generate", "user.recovery.use", "account.reauth.failure"} {
		if !contains(env.auditActions(), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

// secondFactorSteps is what the steps of
// TestSecondFactorChangeNeedsPasswordAndCode share: the console, gina and
// her browser, her second factor's secret and recovery codes, her code of
// the next time step, and a recovery code made with the replacement.
type secondFactorSteps struct {
	env      *testEnv
	b        *browser
	u        auth.User
	secret   string
	codes    []string
	current  string
	replaced string
}

// checkRefused runs one subtest per change of the second factor without
// both the password and a current code: each is refused and changes
// nothing.
func (s *secondFactorSteps) checkRefused(t *testing.T) {
	env, b, u, secret, current, ctx := s.env, s.b, s.u, s.secret, s.current, context.Background()
	// The attacker's own authenticator app.
	theirs, err := auth.EnrolTOTP("Vigil", "gina")
	if err != nil {
		t.Fatal(err)
	}
	theirCode, _ := auth.TOTPCode(theirs.Secret, time.Now())

	for _, c := range []struct {
		name string
		path string
		form url.Values
	}{
		{"replace with only the new secret's code", "/account/totp/confirm",
			url.Values{"secret": {theirs.Secret}, "code": {theirCode}}},
		{"replace without the password", "/account/totp/confirm",
			url.Values{"secret": {theirs.Secret}, "code": {theirCode}, "current_code": {current}}},
		{"replace without the current code", "/account/totp/confirm",
			url.Values{"secret": {theirs.Secret}, "code": {theirCode}, "password": {"gina's long passphrase"}}},
		{"replace with a wrong password", "/account/totp/confirm",
			url.Values{"secret": {theirs.Secret}, "code": {theirCode}, "password": {"guess"}, "current_code": {current}}},
		{"disable with only a code", "/account/totp/disable", url.Values{"code": {current}, "current_code": {current}}},
		{"disable without a code", "/account/totp/disable", url.Values{"password": {"gina's long passphrase"}}},
		{"new recovery codes without the password", "/account/totp/recovery", url.Values{"current_code": {current}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b.get("/account")
			r := b.post(c.path, c.form)
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body %.300s", r.status, r.body)
			}
			mustContain(t, r.body, "The password or the second-factor code is not correct.")
			got, err := env.store.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.TOTPSecret != secret {
				t.Fatal("the second factor was changed")
			}
			if n, _ := env.store.CountRecoveryCodes(ctx, u.ID); n != auth.RecoveryCodeCount {
				t.Fatalf("%d recovery codes left, want %d", n, auth.RecoveryCodeCount)
			}
		})
	}
}

// replace replaces the second factor with the password and the current
// code, and checks that the old recovery codes went with it.
func (s *secondFactorSteps) replace(t *testing.T) {
	env, b, u, codes, current, ctx := s.env, s.b, s.u, s.codes, s.current, context.Background()
	r := b.post("/account/totp", url.Values{})
	m := totpSecretOnPage.FindStringSubmatch(r.body)
	if m == nil || !strings.Contains(r.body, `name="current_code"`) {
		t.Fatalf("replacement page without the current-code field: %.800s", r.body)
	}
	newCode, _ := auth.TOTPCode(m[1], time.Now())
	r = b.post("/account/totp/confirm", url.Values{"secret": {m[1]}, "code": {newCode},
		"password": {"gina's long passphrase"}, "current_code": {current}})
	if r.status != http.StatusOK || len(recoveryCodeLine.FindAllString(r.body, -1)) != auth.RecoveryCodeCount {
		t.Fatalf("replace: %d %.500s", r.status, r.body)
	}
	got, _ := env.store.GetUser(ctx, u.ID)
	if got.TOTPSecret != m[1] {
		t.Fatal("the second factor was not replaced")
	}
	s.replaced = recoveryCodeLine.FindAllStringSubmatch(r.body, -1)[0][1]
	// The old recovery codes went with the old factor.
	l, _ := auth.NewLogins(env.store, nil, nil)
	if err := l.CheckSecondFactor(ctx, "192.0.2.1", got, codes[0]); err == nil {
		t.Fatal("an old recovery code works after the replacement")
	}
}

// disable makes new recovery codes, removes the second factor with the
// password and one of them, and checks that no recovery code is left.
func (s *secondFactorSteps) disable(t *testing.T) {
	env, b, u, ctx := s.env, s.b, s.u, context.Background()
	r := b.post("/account/totp/recovery", url.Values{"password": {"gina's long passphrase"},
		"current_code": {s.replaced}})
	fresh := recoveryCodeLine.FindAllStringSubmatch(r.body, -1)
	if r.status != http.StatusOK || len(fresh) != auth.RecoveryCodeCount {
		t.Fatalf("new recovery codes: %d %.500s", r.status, r.body)
	}
	b.get("/account")
	r = b.post("/account/totp/disable", url.Values{"password": {"gina's long passphrase"}, "current_code": {fresh[2][1]}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d %.300s", r.status, r.body)
	}
	got, _ := env.store.GetUser(ctx, u.ID)
	if got.TOTPSecret != "" {
		t.Fatal("the second factor was not removed")
	}
	if n, _ := env.store.CountRecoveryCodes(ctx, u.ID); n != 0 {
		t.Fatalf("%d recovery codes left after removing the second factor", n)
	}
}

func mustCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := auth.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestLoginCodeOnce: a TOTP code that logged in once does not log in
// again, and a recovery code logs in once instead of a TOTP code.
func TestLoginCodeOnce(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("hugo", auth.RoleAnalyst, "hugo's long passphrase")
	_, secret, codes := enrolled(t, env, "hugo", "hugo's long passphrase")
	secondStep := func(code string) response {
		b := env.browser()
		b.get("/login")
		r := b.post("/login", url.Values{"name": {"hugo"}, "password": {"hugo's long passphrase"}})
		if !strings.Contains(r.body, `action="/login/totp"`) {
			t.Fatalf("no second step: %d %.300s", r.status, r.body)
		}
		return b.post("/login/totp", url.Values{"code": {code}})
	}
	code := mustCode(t, secret, time.Now().Add(30*time.Second))
	if r := secondStep(code); r.status != http.StatusSeeOther {
		t.Fatalf("first use of a code: %d %.300s", r.status, r.body)
	}
	t.Run("the same code again", func(t *testing.T) {
		if r := secondStep(code); r.status != http.StatusUnauthorized {
			t.Fatalf("replayed code: status %d, want 401", r.status)
		}
	})
	t.Run("a recovery code, once", func(t *testing.T) {
		if r := secondStep(strings.ToUpper(codes[5])); r.status != http.StatusSeeOther {
			t.Fatalf("recovery code: %d %.300s", r.status, r.body)
		}
		if r := secondStep(codes[5]); r.status != http.StatusUnauthorized {
			t.Fatalf("recovery code used twice: status %d, want 401", r.status)
		}
	})
}

// TestAdminResetsSecondFactor: an administrator can still remove the
// second factor of a person who lost device and recovery codes; the
// reset takes the recovery codes with it and is audited.
func TestAdminResetsSecondFactor(t *testing.T) {
	env := newEnv(t, nil)
	ctx := context.Background()
	env.addUser("admin", auth.RoleAdmin, "the admin's passphrase")
	u := env.addUser("ivan", auth.RoleAnalyst, "ivan's long passphrase")
	enrolled(t, env, "ivan", "ivan's long passphrase")
	b := env.browser()
	b.login("admin", "the admin's passphrase")
	b.get("/users")
	if r := b.post("/users/"+strconv.FormatInt(u.ID, 10), url.Values{"action": {"totp-reset"}}); r.status != http.StatusSeeOther {
		t.Fatalf("reset: %d %.300s", r.status, r.body)
	}
	got, _ := env.store.GetUser(ctx, u.ID)
	if got.TOTPSecret != "" {
		t.Error("second factor not removed")
	}
	if n, _ := env.store.CountRecoveryCodes(ctx, u.ID); n != 0 {
		t.Errorf("%d recovery codes left after the reset", n)
	}
	if !contains(env.auditActions(), "user.totp-reset") {
		t.Error("reset not audited")
	}
}

// TestSecondFactorChangeEndsOtherSessions: once the second factor is set
// up, sessions opened with the password alone are over.
func TestSecondFactorChangeEndsOtherSessions(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("jana", auth.RoleAnalyst, "jana's long passphrase")
	other := env.browser()
	other.login("jana", "jana's long passphrase")
	b, _, _ := enrolled(t, env, "jana", "jana's long passphrase")
	if r := other.get("/account"); r.status != http.StatusSeeOther {
		t.Fatalf("a session from before the second factor: %d, want a redirect to the login", r.status)
	}
	// The browser that made the change stays signed in, its forms work.
	if r := b.post("/account/tokens", url.Values{"name": {"after"}}); r.status != http.StatusOK {
		t.Fatalf("a form on the page after the change: %d", r.status)
	}
}
