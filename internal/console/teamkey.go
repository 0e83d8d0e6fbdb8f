package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// IdentityStateKey is where the team's identity is kept (see
// notify.IdentityStateKey).
const IdentityStateKey = notify.IdentityStateKey

// teamKeyPage is the data of the team key page. It never carries the
// private key.
type teamKeyPage struct {
	Present     bool
	Fingerprint string
	UserIDs     []string
	Created     time.Time
	Expires     time.Time
	PublicKey   string
	// Broken is set when a key is stored but cannot be used; Problem
	// says why (translated).
	Broken  bool
	Problem string
	// Name and Email are the generate form as typed.
	Name, Email string
}

// loadTeamKey reads the stored identity: nil without one. A stored key
// that does not parse is an error wrapping notify.ErrBrokenIdentity.
func (c *Console) loadTeamKey(r *http.Request) (*pgpmime.Identity, error) {
	return notify.LoadIdentity(r.Context(), c.store)
}

func (c *Console) teamKey(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showTeamKey(w, r, v, http.StatusOK, teamKeyPage{}, flashOf(r), "")
}

// showTeamKey renders the page with the stored key's details over form.
func (c *Console) showTeamKey(w http.ResponseWriter, r *http.Request, v *visit, status int, form teamKeyPage, flash, problem string) {
	id, err := c.loadTeamKey(r)
	p := form
	switch {
	case errors.Is(err, notify.ErrBrokenIdentity):
		c.logger.Error("team key", "err", err)
		p.Present, p.Broken = true, true
		p.Problem = c.tr(v, msgTeamKeyBroken, notify.KeyProblem(err))
	case err != nil:
		c.fail(w, r, v, err)
		return
	case id != nil:
		p.Present = true
		p.Fingerprint, p.UserIDs, p.Created, p.Expires, p.PublicKey = id.Fingerprint(), id.UserIDs(), id.Created(), id.Expires(), id.PublicKey()
	}
	c.render(w, r, v, status, "teamkey", msgTitleTeamKey, p, flash, problem)
}

func (c *Console) teamPublicKey(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := c.loadTeamKey(r)
	if errors.Is(err, notify.ErrBrokenIdentity) || (err == nil && id == nil) {
		c.notFound(w, r, v)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id.Fingerprint()+`.asc"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(id.PublicKey()))
}

// replacing refuses to overwrite a stored key unless the form confirms it
// (notify.CheckKeyReplace).
func (c *Console) replacing(w http.ResponseWriter, r *http.Request, v *visit, form teamKeyPage) bool {
	switch err := notify.CheckKeyReplace(r.Context(), c.store, r.PostFormValue("replace") == "yes"); {
	case errors.Is(err, notify.ErrKeyReplace):
		c.showTeamKey(w, r, v, http.StatusBadRequest, form, "", msgTeamKeyConfirm)
		return false
	case err != nil:
		c.fail(w, r, v, err)
		return false
	}
	return true
}

func (c *Console) generateTeamKey(w http.ResponseWriter, r *http.Request, v *visit) {
	form := teamKeyPage{Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email"))}
	switch err := notify.CheckKeyOwner(form.Name, form.Email); {
	case errors.Is(err, notify.ErrKeyName):
		c.showTeamKey(w, r, v, http.StatusBadRequest, form, "", msgTeamKeyName)
		return
	case err != nil:
		c.showTeamKey(w, r, v, http.StatusBadRequest, form, "", msgTeamKeyEmail)
		return
	}
	if !c.replacing(w, r, v, form) {
		return
	}
	armored, err := pgpmime.GenerateIdentity(form.Name, form.Email, c.now())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.storeTeamKey(w, r, v, armored, "identity.generate")
}

func (c *Console) importTeamKey(w http.ResponseWriter, r *http.Request, v *visit) {
	// Nothing typed here is ever put back on the page: the form comes back
	// empty after a problem.
	armored, err := notify.ReadPrivateKey(r.PostFormValue("key"), r.PostFormValue("passphrase"))
	if err != nil {
		c.logger.Info("team key import refused", "user", v.user.Name, "err", err)
		c.showTeamKey(w, r, v, http.StatusBadRequest, teamKeyPage{}, "", notify.KeyProblem(err).In(c.catalog, v.lang))
		return
	}
	if !c.replacing(w, r, v, teamKeyPage{}) {
		return
	}
	c.storeTeamKey(w, r, v, armored, "identity.import")
}

// storeTeamKey stores armored as the team key after reading it back the
// way the notifier will, hands it to the running notifier, and records
// the change by fingerprint only.
func (c *Console) storeTeamKey(w http.ResponseWriter, r *http.Request, v *visit, armored, action string) {
	id, err := notify.StoreIdentity(r.Context(), c.store, armored)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.notifier.SetIdentity(id)
	// Events may have waited for a key: a running notifier looks at them
	// now rather than at its next interval.
	if t, ok := c.notifier.(interface{ Trigger() }); ok {
		t.Trigger()
	}
	c.audit(r.Context(), v, action, id.Fingerprint(), strings.Join(id.UserIDs(), ", "))
	redirectDone(w, r, "/notifications/identity", "identity")
}
