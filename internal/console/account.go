package console

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// accountPage is the data of a person's own account page.
type accountPage struct {
	Name        string
	Email       string
	Role        auth.Role
	Language    string
	Languages   []i18n.Language
	TOTPEnabled bool
	// RecoveryCodesLeft is how many unused recovery codes the person has.
	RecoveryCodesLeft int
	// RecoveryCodes are just-made recovery codes, shown this once.
	RecoveryCodes []string
	// Enrolment is set between "set up" and the confirming code.
	Enrolment *enrolmentView
	Tokens    []auth.APIToken
	// NewToken is a just-created API token, shown this once.
	NewToken string
}

type enrolmentView struct {
	Secret string
	URL    string
	QR     template.URL // a data: URL made here, not user input
}

func (c *Console) accountData(w http.ResponseWriter, r *http.Request, v *visit) (accountPage, bool) {
	tokens, err := c.store.ListAPITokens(r.Context(), v.user.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return accountPage{}, false
	}
	left, err := c.store.CountRecoveryCodes(r.Context(), v.user.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return accountPage{}, false
	}
	return accountPage{
		Name: v.user.Name, Email: v.user.Email, Role: v.user.Role, Language: v.lang,
		Languages: c.catalog.Languages(), TOTPEnabled: v.user.TOTPSecret != "", Tokens: tokens,
		RecoveryCodesLeft: left,
	}, true
}

func (c *Console) showAccount(w http.ResponseWriter, r *http.Request, v *visit, status int, change func(*accountPage), flash, problem string) {
	p, ok := c.accountData(w, r, v)
	if !ok {
		return
	}
	if change != nil {
		change(&p)
	}
	c.render(w, r, v, status, "account", msgTitleAccount, p, flash, problem)
}

func (c *Console) account(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showAccount(w, r, v, http.StatusOK, nil, flashOf(r), "")
}

func (c *Console) setLanguage(w http.ResponseWriter, r *http.Request, v *visit) {
	lang := r.PostFormValue("language")
	if !c.catalog.Supported(lang) {
		c.showAccount(w, r, v, http.StatusBadRequest, nil, "", msgLanguageBad)
		return
	}
	u := v.user
	u.Language = lang
	if err := c.store.UpdateUser(r.Context(), u); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "user.language", u.Name, lang)
	redirectDone(w, r, "/account", "language")
}

func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, v *visit) {
	ok, err := auth.CheckPassword(v.user.PasswordHash, r.PostFormValue("current"))
	if err != nil && !errors.Is(err, auth.ErrBadHash) {
		c.fail(w, r, v, err)
		return
	}
	if !ok {
		c.showAccount(w, r, v, http.StatusBadRequest, nil, "", msgPasswordWrong)
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		c.showAccount(w, r, v, http.StatusBadRequest, nil, "", msgPasswordMismatch)
		return
	}
	if err := auth.ValidateNewPassword(pw); err != nil {
		c.showAccount(w, r, v, http.StatusBadRequest, nil, "", msgPasswordShort)
		return
	}
	u := v.user
	if u.PasswordHash, err = auth.HashPassword(pw); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if err := c.store.UpdateUser(r.Context(), u); err != nil {
		c.fail(w, r, v, err)
		return
	}
	// A new password ends every session, including any an attacker who
	// knew the old one may hold; this browser gets a fresh one.
	if err := c.store.DeleteUserSessions(r.Context(), u.ID); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if _, err := c.sessions.Create(r.Context(), w, r, u.ID); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "user.password", u.Name, "")
	redirectDone(w, r, "/account", "password")
}

func (c *Console) startTOTP(w http.ResponseWriter, r *http.Request, v *visit) {
	e, err := auth.EnrolTOTP(c.issuer, v.user.Name)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.showAccount(w, r, v, http.StatusOK, func(p *accountPage) {
		p.Enrolment = &enrolmentView{Secret: e.Secret, URL: e.URL, QR: template.URL(e.QRDataURL)}
	}, "", "")
}

// reauthenticate asks for the current password and, when the account has
// a second factor, a current or recovery code before a change to the
// second factor: a stolen session alone must not replace or remove it.
// It answers the request itself when the check fails.
func (c *Console) reauthenticate(w http.ResponseWriter, r *http.Request, v *visit, keep func(*accountPage)) bool {
	err := c.logins.Reauthenticate(r.Context(), auth.ClientAddress(r), v.user, r.PostFormValue("password"), r.PostFormValue("current_code"))
	switch {
	case err == nil:
		return true
	case errors.Is(err, auth.ErrRateLimited):
		c.showAccount(w, r, v, http.StatusTooManyRequests, keep, "", msgLoginLocked)
	case errors.Is(err, auth.ErrInvalidCredentials):
		c.showAccount(w, r, v, http.StatusForbidden, keep, "", msgReauthFailed)
	default:
		c.fail(w, r, v, err)
	}
	return false
}

// confirmTOTP stores the secret once a code made from it checks out and
// the person proved who they are: the current password, and the current
// second factor when one is being replaced. The secret travels in the
// form between the two steps: it is the person's own, the page is
// CSRF-protected and it is not stored before it is proven.
func (c *Console) confirmTOTP(w http.ResponseWriter, r *http.Request, v *visit) {
	secret := strings.TrimSpace(r.PostFormValue("secret"))
	keep := func(p *accountPage) {
		if secret != "" {
			// Keep showing the same secret so the app entry stays valid.
			p.Enrolment = &enrolmentView{Secret: secret}
		}
	}
	step, ok := auth.VerifyTOTPStep(secret, r.PostFormValue("code"), c.now())
	if !ok {
		c.showAccount(w, r, v, http.StatusBadRequest, keep, "", msgTOTPWrongCode)
		return
	}
	replacing := v.user.TOTPSecret != ""
	if !c.reauthenticate(w, r, v, keep) {
		return
	}
	u := v.user
	u.TOTPSecret = secret
	if err := c.store.UpdateUser(r.Context(), u); err != nil {
		c.fail(w, r, v, err)
		return
	}
	// The code that proved the new secret is used up like a login code.
	// When it shares its time step with the old factor's code just
	// claimed, the claim fails harmlessly: that step is used already.
	if _, err := c.store.ClaimTOTPStep(r.Context(), u.ID, step); err != nil {
		c.fail(w, r, v, err)
		return
	}
	action := "user.totp.enable"
	if replacing {
		action = "user.totp.replace"
	}
	c.audit(r.Context(), v, action, u.Name, "")
	v.user = u
	if !c.renewSessions(w, r, v) {
		return
	}
	c.issueRecoveryCodes(w, r, v, msgDoneTOTPOn)
}

// renewSessions ends every session of the person — any a thief holds
// too — and gives this browser a fresh one: after a change to the second
// factor only whoever made it stays signed in.
func (c *Console) renewSessions(w http.ResponseWriter, r *http.Request, v *visit) bool {
	if err := c.store.DeleteUserSessions(r.Context(), v.user.ID); err != nil {
		c.fail(w, r, v, err)
		return false
	}
	s, err := c.sessions.Create(r.Context(), w, r, v.user.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return false
	}
	// The page rendered next carries the new session's CSRF token.
	v.session = s
	return true
}

// issueRecoveryCodes replaces the person's recovery codes and shows the
// new ones this once, in the answer to the post: they must not end up in
// a URL or be shown again.
func (c *Console) issueRecoveryCodes(w http.ResponseWriter, r *http.Request, v *visit, flash string) {
	codes, hashes, err := auth.NewRecoveryCodes(v.user.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if err := c.store.ReplaceRecoveryCodes(r.Context(), v.user.ID, hashes); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "user.recovery.generate", v.user.Name, strconv.Itoa(len(codes))+" codes")
	c.showAccount(w, r, v, http.StatusOK, func(p *accountPage) { p.RecoveryCodes = codes }, flash, "")
}

// newRecoveryCodes gives the person a fresh set of recovery codes, the
// old ones no longer working.
func (c *Console) newRecoveryCodes(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.user.TOTPSecret == "" {
		c.showAccount(w, r, v, http.StatusBadRequest, nil, "", msgReauthFailed)
		return
	}
	if !c.reauthenticate(w, r, v, nil) {
		return
	}
	c.issueRecoveryCodes(w, r, v, msgDoneRecoveryCodes)
}

func (c *Console) disableTOTP(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.user.TOTPSecret == "" {
		redirectDone(w, r, "/account", "totp-off")
		return
	}
	if !c.reauthenticate(w, r, v, nil) {
		return
	}
	u := v.user
	u.TOTPSecret = ""
	if err := c.store.UpdateUser(r.Context(), u); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if err := c.store.ReplaceRecoveryCodes(r.Context(), u.ID, nil); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "user.totp.disable", u.Name, "")
	v.user = u
	if !c.renewSessions(w, r, v) {
		return
	}
	redirectDone(w, r, "/account", "totp-off")
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request, v *visit) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 100 {
		c.showAccount(w, r, v, http.StatusBadRequest, nil, "", msgTokenNameBad)
		return
	}
	plain, tok, err := auth.NewAPIToken(r.Context(), c.store, v.user.ID, name)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "token.create", tok.Name, "id "+strconv.FormatInt(tok.ID, 10))
	// Rendered in answer to the post, never redirected: the plaintext
	// must not end up in a URL or be shown a second time.
	c.showAccount(w, r, v, http.StatusOK, func(p *accountPage) { p.NewToken = plain }, "", "")
}

func (c *Console) deleteToken(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.notFound(w, r, v)
		return
	}
	// The store deletes only the user's own token: another person's id
	// is not found.
	err = c.store.DeleteAPIToken(r.Context(), v.user.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "token.delete", strconv.FormatInt(id, 10), "")
	redirectDone(w, r, "/account", "token")
}
