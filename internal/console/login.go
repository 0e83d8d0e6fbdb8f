package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
)

// loginPage is the data of the login page, first or second step.
type loginPage struct {
	Name string
	Next string
	// SecondFactor shows the TOTP step instead of name and password.
	SecondFactor bool
	// Throttled, a message ID, says that this address must wait
	// WaitMinutes before trying again.
	Throttled   string
	WaitMinutes int
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request, v *visit) {
	next := safeNext(r.URL.Query().Get("next"))
	if v.signedIn() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.render(w, r, v, http.StatusOK, "login", msgTitleLogin, loginPage{Next: next}, "", "")
}

// pendingCookie names the cookie that carries a login between the
// password and the second-factor step.
func (c *Console) pendingCookie(r *http.Request) string {
	if c.sessions.Secure(r) {
		return "__Host-vigil-login"
	}
	return "vigil-login"
}

func (c *Console) login(w http.ResponseWriter, r *http.Request, v *visit) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	next := safeNext(r.PostFormValue("next"))
	ip := auth.ClientAddress(r)
	u, err := c.logins.CheckPassword(r.Context(), ip, name, r.PostFormValue("password"))
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		c.throttled(w, r, v, err, loginPage{Name: name, Next: next})
		return
	case errors.Is(err, auth.ErrInvalidCredentials):
		c.render(w, r, v, http.StatusUnauthorized, "login", msgTitleLogin, loginPage{Name: name, Next: next}, "", msgLoginInvalid)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	if u.TOTPSecret == "" {
		c.completeLogin(w, r, v, u, next)
		return
	}
	tok, err := c.pending.Start(u.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: c.pendingCookie(r), Value: tok, Path: "/", MaxAge: 300,
		HttpOnly: true, Secure: c.sessions.Secure(r), SameSite: http.SameSiteStrictMode,
	})
	c.render(w, r, v, http.StatusOK, "login", msgTitleLogin, loginPage{Next: next, SecondFactor: true}, "", "")
}

// throttled answers a login attempt that came before its wait was over:
// 429 with Retry-After, and the wait in minutes on the page.
func (c *Console) throttled(w http.ResponseWriter, r *http.Request, v *visit, err error, p loginPage) {
	p.Throttled, p.WaitMinutes = msgLoginThrottledPair, 1
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		if te.Address {
			p.Throttled = msgLoginThrottledAddress
		}
		p.WaitMinutes = te.RetryMinutes()
		w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
	}
	c.render(w, r, v, http.StatusTooManyRequests, "login", msgTitleLogin, p, "", "")
}

func (c *Console) loginTOTP(w http.ResponseWriter, r *http.Request, v *visit) {
	next := safeNext(r.PostFormValue("next"))
	ck, err := r.Cookie(c.pendingCookie(r))
	if err != nil {
		c.render(w, r, v, http.StatusUnauthorized, "login", msgTitleLogin, loginPage{Next: next}, "", msgLoginExpired)
		return
	}
	id, ok := c.pending.Attempt(ck.Value)
	if !ok {
		c.render(w, r, v, http.StatusUnauthorized, "login", msgTitleLogin, loginPage{Next: next}, "", msgLoginExpired)
		return
	}
	u, err := c.store.GetUser(r.Context(), id)
	if err != nil || u.Disabled {
		c.pending.Finish(ck.Value)
		c.render(w, r, v, http.StatusUnauthorized, "login", msgTitleLogin, loginPage{Next: next}, "", msgLoginInvalid)
		return
	}
	err = c.logins.CheckSecondFactor(r.Context(), auth.ClientAddress(r), u, r.PostFormValue("code"))
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		c.pending.Finish(ck.Value)
		c.throttled(w, r, v, err, loginPage{Next: next})
		return
	case err != nil:
		c.render(w, r, v, http.StatusUnauthorized, "login", msgTitleLogin, loginPage{Next: next, SecondFactor: true}, "", msgTOTPWrongCode)
		return
	}
	c.pending.Finish(ck.Value)
	http.SetCookie(w, &http.Cookie{Name: c.pendingCookie(r), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.sessions.Secure(r)})
	c.completeLogin(w, r, v, u, next)
}

// completeLogin starts a fresh session: any session the browser had is
// ended first, so an identifier planted before login is worthless.
func (c *Console) completeLogin(w http.ResponseWriter, r *http.Request, v *visit, u auth.User, next string) {
	if !c.organisationAllowsLogin(w, r, v, u, next) {
		return
	}
	if err := c.sessions.Destroy(r.Context(), w, r); err != nil {
		c.logger.Warn("end previous session", "err", err)
	}
	if _, err := c.sessions.Create(r.Context(), w, r, u.ID); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.logins.Succeeded(r.Context(), auth.ClientAddress(r), u)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := c.sessions.Destroy(r.Context(), w, r); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "logout", v.user.Name, "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setupPage is the data of the first-start page.
type setupPage struct {
	Token string
	Name  string
	Email string
}

func (c *Console) setupForm(w http.ResponseWriter, r *http.Request, v *visit) {
	token := r.URL.Query().Get("token")
	ok, err := auth.CheckSetupToken(r.Context(), c.store, token)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if !ok {
		c.problem(w, r, v, http.StatusForbidden, msgTitleSetup, msgSetupBadToken)
		return
	}
	c.render(w, r, v, http.StatusOK, "setup", msgTitleSetup, setupPage{Token: token}, "", "")
}

func (c *Console) setup(w http.ResponseWriter, r *http.Request, v *visit) {
	p := setupPage{
		Token: r.PostFormValue("token"),
		Name:  strings.TrimSpace(r.PostFormValue("name")),
		Email: strings.TrimSpace(r.PostFormValue("email")),
	}
	password := r.PostFormValue("password")
	if password != r.PostFormValue("password2") {
		c.render(w, r, v, http.StatusBadRequest, "setup", msgTitleSetup, p, "", msgPasswordMismatch)
		return
	}
	u, err := auth.CreateFirstAdmin(r.Context(), c.store, p.Token, p.Name, p.Email, password)
	switch {
	case errors.Is(err, auth.ErrSetupClosed):
		c.problem(w, r, v, http.StatusForbidden, msgTitleSetup, msgSetupBadToken)
		return
	case errors.Is(err, auth.ErrPasswordTooShort):
		c.render(w, r, v, http.StatusBadRequest, "setup", msgTitleSetup, p, "", msgPasswordShort)
		return
	case errors.Is(err, auth.ErrBadUserName):
		c.render(w, r, v, http.StatusBadRequest, "setup", msgTitleSetup, p, "", msgUserNameBad)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	c.logger.Info("first administrator created", "user", u.Name)
	c.completeLogin(w, r, v, u, "/")
}
