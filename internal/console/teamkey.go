package console

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-cert/vigil/internal/notify"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// IdentityStateKey is where the team's identity is kept (see
// notify.IdentityStateKey).
const IdentityStateKey = notify.IdentityStateKey

// maxArmoredKey bounds a pasted private key; a key with many user IDs and
// subkeys is a few tens of kilobytes.
const maxArmoredKey = 256 << 10

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
// that does not parse is returned as the error wrapped by errBadStoredKey.
func (c *Console) loadTeamKey(r *http.Request) (*pgpmime.Identity, error) {
	raw, err := c.store.GetState(r.Context(), IdentityStateKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load team key: %w", err)
	}
	id, err := pgpmime.ParseIdentity(string(raw), "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadStoredKey, err)
	}
	return id, nil
}

var errBadStoredKey = errors.New("stored team key unusable")

func (c *Console) teamKey(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showTeamKey(w, r, v, http.StatusOK, teamKeyPage{}, flashOf(r), "")
}

// showTeamKey renders the page with the stored key's details over form.
func (c *Console) showTeamKey(w http.ResponseWriter, r *http.Request, v *visit, status int, form teamKeyPage, flash, problem string) {
	id, err := c.loadTeamKey(r)
	p := form
	switch {
	case errors.Is(err, errBadStoredKey):
		c.logger.Error("team key", "err", err)
		p.Present, p.Broken = true, true
		p.Problem = c.tr(v, msgTeamKeyBroken, c.tr(v, keyImportProblem(err)))
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
	if errors.Is(err, errBadStoredKey) || (err == nil && id == nil) {
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

// replacing refuses to overwrite a stored key unless the form confirms it:
// every constituent that pinned the old key must be told of the new one.
func (c *Console) replacing(w http.ResponseWriter, r *http.Request, v *visit, form teamKeyPage) bool {
	_, err := c.store.GetState(r.Context(), IdentityStateKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true
	case err != nil:
		c.fail(w, r, v, err)
		return false
	case r.PostFormValue("replace") != "yes":
		c.showTeamKey(w, r, v, http.StatusBadRequest, form, "", msgTeamKeyConfirm)
		return false
	}
	return true
}

func (c *Console) generateTeamKey(w http.ResponseWriter, r *http.Request, v *visit) {
	form := teamKeyPage{Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email"))}
	if !validKeyName(form.Name) {
		c.showTeamKey(w, r, v, http.StatusBadRequest, form, "", msgTeamKeyName)
		return
	}
	if a, err := mail.ParseAddress(form.Email); err != nil || a.Address != form.Email || a.Name != "" {
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

// validKeyName accepts what OpenPGP user IDs can hold in their name part:
// one line, without the brackets that delimit the address and comment.
func validKeyName(name string) bool {
	if name == "" || len(name) > 200 || strings.ContainsAny(name, "()<>") {
		return false
	}
	return !strings.ContainsFunc(name, unicode.IsControl)
}

func (c *Console) importTeamKey(w http.ResponseWriter, r *http.Request, v *visit) {
	armored := strings.TrimSpace(r.PostFormValue("key"))
	passphrase := r.PostFormValue("passphrase")
	// Nothing typed here is ever put back on the page: the form comes back
	// empty after a problem.
	if armored == "" || len(armored) > maxArmoredKey {
		c.showTeamKey(w, r, v, http.StatusBadRequest, teamKeyPage{}, "", msgTeamKeyImportBad)
		return
	}
	id, err := pgpmime.ParseIdentity(armored, passphrase)
	if err != nil {
		c.logger.Info("team key import refused", "user", v.user.Name, "err", err)
		c.showTeamKey(w, r, v, http.StatusBadRequest, teamKeyPage{}, "", keyImportProblem(err))
		return
	}
	if !c.replacing(w, r, v, teamKeyPage{}) {
		return
	}
	if passphrase != "" {
		// The notifier reads the key without a passphrase, as
		// GenerateIdentity writes it: store the unlocked key.
		if armored, err = unlockedArmor(id.Entity()); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	c.storeTeamKey(w, r, v, armored, "identity.import")
}

// keyImportProblem is the message for a key ParseIdentity refused.
func keyImportProblem(err error) string {
	for _, m := range []struct {
		err error
		msg string
	}{
		{pgpmime.ErrPassphraseRequired, msgTeamKeyPassphrase},
		{pgpmime.ErrWrongPassphrase, msgTeamKeyWrongPassphrase},
		{pgpmime.ErrKeyExpired, msgTeamKeyExpired},
		{pgpmime.ErrKeyRevoked, msgTeamKeyRevoked},
		{pgpmime.ErrCannotSign, msgTeamKeyCannotSign},
		{pgpmime.ErrCannotEncrypt, msgTeamKeyCannotEncrypt},
	} {
		if errors.Is(err, m.err) {
			return m.msg
		}
	}
	return msgTeamKeyImportBad
}

// unlockedArmor writes an unlocked private key armored, without a
// passphrase.
func unlockedArmor(e *openpgp.Entity) (string, error) {
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PrivateKeyType, nil)
	if err != nil {
		return "", fmt.Errorf("armor team key: %w", err)
	}
	// The signatures read with the key are kept as they are: re-signing
	// would change nothing but the signatures' times.
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return "", fmt.Errorf("serialize team key: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("armor team key: %w", err)
	}
	return out.String(), nil
}

// storeTeamKey stores armored as the team key after reading it back the
// way the notifier will, hands it to the running notifier, and records
// the change by fingerprint only.
func (c *Console) storeTeamKey(w http.ResponseWriter, r *http.Request, v *visit, armored, action string) {
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		c.fail(w, r, v, fmt.Errorf("team key does not read back: %w", err))
		return
	}
	if err := c.store.PutState(r.Context(), IdentityStateKey, []byte(armored)); err != nil {
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
