package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// What the console's notification pages and the API's notification routes
// both do with the team's settings: read the policy that applies, say
// what was saved in the audit log, open a template for editing, and take
// a new team key. Both call these, so that they never disagree.

// PolicyReader reads stored policies.
type PolicyReader interface {
	GetNotificationPolicy(ctx context.Context, orgID int64) (Policy, error)
}

// TeamPolicy is the team default: the stored policy of OrgID 0 (set true),
// or DefaultPolicy when the team set none.
func TeamPolicy(ctx context.Context, s PolicyReader) (p Policy, set bool, err error) {
	p, err = s.GetNotificationPolicy(ctx, 0)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultPolicy(), false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("team notification policy: %w", err)
	}
	return p, true, nil
}

// PolicyOf is what applies to o: Effective of its own policy (own, nil
// when it has none) and the team default.
func PolicyOf(ctx context.Context, s PolicyReader, o constituency.Organisation) (effective Policy, own *Policy, err error) {
	def, _, err := TeamPolicy(ctx, s)
	if err != nil {
		return Policy{}, nil, err
	}
	switch p, err := s.GetNotificationPolicy(ctx, o.ID); {
	case err == nil:
		own = &p
	case !errors.Is(err, store.ErrNotFound):
		return Policy{}, nil, fmt.Errorf("notification policy of %s: %w", o.Handle, err)
	}
	return Effective(o, own, def), own, nil
}

// PolicyProblems are the problems of ValidatePolicy's error, one
// *FieldError each; an error that is not one of them is returned.
func PolicyProblems(err error) ([]*FieldError, error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []*FieldError
	for _, e := range errs {
		var fe *FieldError
		if !errors.As(e, &fe) {
			return nil, err
		}
		out = append(out, fe)
	}
	return out, nil
}

// PolicyDetail is the audit detail of a saved policy.
func PolicyDetail(p Policy) string {
	return fmt.Sprintf("enabled %t, digest %s, format %s, language %q, %d taxonomies, %d types, %d feeds, %d immediate",
		p.Enabled, p.Digest, p.Format, p.Language, len(p.Taxonomies), len(p.Types), len(p.Feeds), len(p.Immediate))
}

// MaxTemplateBytes bounds a template's subject and body together.
const MaxTemplateBytes = 64 << 10

// ErrNoSuchTemplate is a language or a template name notifications do
// not have.
var ErrNoSuchTemplate = errors.New("no such template: the language is en, nl, fr or de, the name digest, immediate or type/<classification.type>")

// TemplateReader reads the team's overrides.
type TemplateReader interface {
	GetNotificationTemplate(ctx context.Context, language, name string) (TemplateSource, error)
}

// EditedTemplate is a template as its editor opens it: the built-in one,
// and what is in force (the team's override when Overridden).
type EditedTemplate struct {
	Builtin    TemplateSource
	Current    TemplateSource
	Overridden bool
	// HasSubject is false for type explanations, which have none.
	HasSubject bool
}

// OpenTemplate reads lang/name for editing; ErrNoSuchTemplate when there
// is no such language or name. A type without an explanation of its own
// (type/generic serves it) has an empty built-in, which the team may
// write.
func OpenTemplate(ctx context.Context, s TemplateReader, lang, name string) (EditedTemplate, error) {
	if !ValidLanguage(lang) || !ValidName(name) {
		return EditedTemplate{}, ErrNoSuchTemplate
	}
	builtin, err := BuiltinTemplate(lang, name)
	if errors.Is(err, store.ErrNotFound) {
		builtin = TemplateSource{Language: lang, Name: name}
	} else if err != nil {
		return EditedTemplate{}, err
	}
	t := EditedTemplate{Builtin: builtin, Current: builtin, HasSubject: name == NameDigest || name == NameImmediate}
	switch o, err := s.GetNotificationTemplate(ctx, lang, name); {
	case err == nil:
		t.Current, t.Overridden = o, true
	case !errors.Is(err, store.ErrNotFound):
		return EditedTemplate{}, fmt.Errorf("template %s/%s: %w", lang, name, err)
	}
	return t, nil
}

// Draft is the template lang/name with the subject and body a person
// wrote: line ends as in the built-in templates, the subject trimmed and
// dropped where the template has none.
func (t EditedTemplate) Draft(subject, body, by string) TemplateSource {
	d := TemplateSource{Language: t.Builtin.Language, Name: t.Builtin.Name, Body: normalizeNewlines(body), UpdatedBy: by}
	if t.HasSubject {
		d.Subject = strings.TrimSpace(subject)
	}
	return d
}

// normalizeNewlines keeps what a browser posts (CRLF line ends) with the
// LF line ends of the built-in templates.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// The refusals of a new team key.
var (
	ErrKeyName  = errors.New("the key's name is one line of at most 200 characters, without ( ) < >")
	ErrKeyEmail = errors.New("the key's e-mail address is a bare address such as cert@example.org")
	// ErrKeyReplace is a new key while one is stored, without the
	// confirmation: every constituent that pinned the old key must be
	// told of the new one.
	ErrKeyReplace = errors.New("a team key is stored already; replacing it must be confirmed")
	// ErrKeyMissing is an import without a key, or one too large.
	ErrKeyMissing = errors.New("no private key given, or one larger than 256 KiB")
)

// MaxArmoredKey bounds a pasted private key; a key with many user IDs and
// subkeys is a few tens of kilobytes.
const MaxArmoredKey = 256 << 10

// CheckKeyOwner checks the name and address a new team key is made for:
// what OpenPGP user IDs can hold in their name part (one line, without
// the brackets that delimit the address and comment), and a bare address.
func CheckKeyOwner(name, email string) error {
	if name == "" || len(name) > 200 || strings.ContainsAny(name, "()<>") || strings.ContainsFunc(name, unicode.IsControl) {
		return ErrKeyName
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		return ErrKeyEmail
	}
	return nil
}

// StateReader reads the store's state entries, where the team key is.
type StateReader interface {
	GetState(ctx context.Context, key string) ([]byte, error)
}

// CheckKeyReplace refuses a new key while one is stored, unless confirmed.
func CheckKeyReplace(ctx context.Context, st StateReader, confirmed bool) error {
	_, err := st.GetState(ctx, IdentityStateKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("team key: %w", err)
	case !confirmed:
		return ErrKeyReplace
	}
	return nil
}

// ReadPrivateKey reads a team key a person gives (armored, locked with
// passphrase or not), returning it armored as the notifier reads it:
// without a passphrase. The error of a key that cannot be the team's
// wraps pgpmime's reasons (ErrPassphraseRequired, ErrKeyExpired, …).
func ReadPrivateKey(armored, passphrase string) (string, error) {
	armored = strings.TrimSpace(armored)
	if armored == "" || len(armored) > MaxArmoredKey {
		return "", ErrKeyMissing
	}
	id, err := pgpmime.ParseIdentity(armored, passphrase)
	if err != nil {
		return "", err
	}
	if passphrase == "" {
		return armored, nil
	}
	return unlockedArmor(id.Entity())
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

// StoreIdentity stores armored as the team key after reading it back the
// way the notifier will, and returns it for the running notifier.
func StoreIdentity(ctx context.Context, st interface {
	PutState(ctx context.Context, key string, value []byte) error
}, armored string) (*pgpmime.Identity, error) {
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		return nil, fmt.Errorf("team key does not read back: %w", err)
	}
	if err := st.PutState(ctx, IdentityStateKey, []byte(armored)); err != nil {
		return nil, fmt.Errorf("store team key: %w", err)
	}
	return id, nil
}

// keyProblems are the catalogue messages of the reasons pgpmime gives for
// a key that cannot be the team's.
var keyProblems = []struct {
	err error
	msg string
}{
	{pgpmime.ErrPassphraseRequired, "teamkey.error.passphrase"},
	{pgpmime.ErrWrongPassphrase, "teamkey.error.wrongpassphrase"},
	{pgpmime.ErrKeyExpired, "teamkey.error.expired"},
	{pgpmime.ErrKeyRevoked, "teamkey.error.revoked"},
	{pgpmime.ErrCannotSign, "teamkey.error.cannotsign"},
	{pgpmime.ErrCannotEncrypt, "teamkey.error.cannotencrypt"},
}

// KeyProblem is the message saying why a key that ReadPrivateKey (or a
// stored key's LoadIdentity) refused cannot be the team's: one of
// keyProblems' sentences, else pgpmime's reason (a public key given, a
// block of two keys), else that it is no key Vigil can use.
func KeyProblem(err error) i18n.Message {
	for _, p := range keyProblems {
		if errors.Is(err, p.err) {
			return i18n.M(p.msg)
		}
	}
	if why, ok := i18n.Explain(err); ok {
		return i18n.M("teamkey.error.why", why)
	}
	return i18n.M("teamkey.error.import")
}
