package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// The team's OpenPGP key, which signs every notification, for
// administrators: what it is (never its private part), generating a new
// one and importing one, as the console's team key page. Replacing a
// stored key must be confirmed (replace: true): every constituent that
// pinned the old key must be told of the new one.

type teamKeyJSON struct {
	Present bool `json:"present"`
	// Broken is set when a key is stored but cannot be used.
	Broken      bool       `json:"broken,omitempty"`
	Fingerprint string     `json:"fingerprint,omitempty"`
	UserIDs     []string   `json:"user_ids"`
	Created     *time.Time `json:"created,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	PublicKey   string     `json:"public_key,omitempty"`
}

type generateKeyInput struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Replace bool   `json:"replace"`
}

type importKeyInput struct {
	Key        string `json:"key"`
	Passphrase string `json:"passphrase"`
	Replace    bool   `json:"replace"`
}

func (h *handler) getTeamKey(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	id, err := notify.LoadIdentity(r.Context(), h.store)
	switch {
	case errors.Is(err, notify.ErrBrokenIdentity):
		h.log.Error("team key", "err", err)
		return teamKeyJSON{Present: true, Broken: true, UserIDs: []string{}}, nil
	case err != nil:
		return nil, err
	case id == nil:
		return teamKeyJSON{UserIDs: []string{}}, nil
	}
	return toTeamKeyJSON(id), nil
}

func toTeamKeyJSON(id *pgpmime.Identity) teamKeyJSON {
	return teamKeyJSON{Present: true, Fingerprint: id.Fingerprint(), UserIDs: nonNil(id.UserIDs()),
		Created: optionalTime(id.Created()), Expires: optionalTime(id.Expires()), PublicKey: id.PublicKey()}
}

// keyReplace refuses a new key over a stored one without replace: true.
func (h *handler) keyReplace(r *http.Request, confirmed bool) error {
	err := notify.CheckKeyReplace(r.Context(), h.store, confirmed)
	if errors.Is(err, notify.ErrKeyReplace) {
		return errorText(http.StatusConflict, "key_exists", "replace", i18n.M("api.error.teamkey.replace"))
	}
	return err
}

func (h *handler) generateTeamKey(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	if h.notifier == nil {
		return nil, errNoNotifier
	}
	var in generateKeyInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	in.Name, in.Email = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email)
	switch err := notify.CheckKeyOwner(in.Name, in.Email); {
	case errors.Is(err, notify.ErrKeyName):
		return nil, badParameterText("name", i18n.M("api.error.teamkey.name"))
	case err != nil:
		return nil, badParameterText("email", i18n.M("api.error.teamkey.email"))
	}
	if err := h.keyReplace(r, in.Replace); err != nil {
		return nil, err
	}
	armored, err := pgpmime.GenerateIdentity(in.Name, in.Email, time.Now())
	if err != nil {
		return nil, fmt.Errorf("generate team key: %w", err)
	}
	return h.storeTeamKey(r, c, armored, "identity.generate")
}

func (h *handler) importTeamKey(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	if h.notifier == nil {
		return nil, errNoNotifier
	}
	var in importKeyInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	armored, err := notify.ReadPrivateKey(in.Key, in.Passphrase)
	if err != nil {
		h.log.Info("team key import refused", "user", c.user.Name, "err", err)
		param := "key"
		if errors.Is(err, pgpmime.ErrPassphraseRequired) || errors.Is(err, pgpmime.ErrWrongPassphrase) {
			param = "passphrase"
		}
		return nil, badParameterText(param, notify.KeyProblem(err))
	}
	if err := h.keyReplace(r, in.Replace); err != nil {
		return nil, err
	}
	return h.storeTeamKey(r, c, armored, "identity.import")
}

// storeTeamKey stores the key, hands it to the running notifier, wakes it
// (events may have waited for a key) and records the change by
// fingerprint only.
func (h *handler) storeTeamKey(r *http.Request, c *caller, armored, action string) (any, error) {
	ctx := r.Context()
	id, err := notify.StoreIdentity(ctx, h.store, armored)
	if err != nil {
		return nil, err
	}
	h.notifier.SetIdentity(id)
	if t, ok := h.notifier.(interface{ Trigger() }); ok {
		t.Trigger()
	}
	h.audit(ctx, c, action, id.Fingerprint(), strings.Join(id.UserIDs(), ", "))
	return toTeamKeyJSON(id), nil
}
