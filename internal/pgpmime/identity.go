// Package pgpmime is the team's OpenPGP identity and the PGP/MIME signing
// and encryption of outgoing mail (RFC 3156 on RFC 9580 keys, with
// github.com/ProtonMail/go-crypto/openpgp): it generates and reads the team
// key, judges the keys of contacts, and turns a MIME entity into a signed,
// or signed and encrypted, RFC 5322 message.
package pgpmime

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Errors of ParseIdentity, to be checked with errors.Is; the *KeyError
// it returns says more.
var (
	ErrNotPrivateKey      = errors.New("not an OpenPGP private key")
	ErrPassphraseRequired = errors.New("the private key is protected by a passphrase")
	ErrWrongPassphrase    = errors.New("wrong passphrase")
	ErrKeyExpired         = errors.New("key expired")
	ErrKeyRevoked         = errors.New("key revoked")
	ErrCannotSign         = errors.New("key cannot sign")
	ErrCannotEncrypt      = errors.New("key cannot encrypt")
)

// Identity is the team's OpenPGP key with its secret parts unlocked: it
// signs outgoing mail, and receives a copy of every encrypted message so
// that the team can read what it sent.
type Identity struct {
	entity    *openpgp.Entity
	publicKey string
	// lastDate is the Date field of the last message, parsed, and
	// lastFrom its From field, which held an address.
	lastDate atomic.Pointer[parsedDate]
	lastFrom atomic.Pointer[string]
}

// GenerateIdentity makes a new team key for name <email>, created at now,
// and returns it armored, without a passphrase (the caller stores it where
// only Vigil can read it).
//
// The key is a v4 key with an Ed25519 signing primary key and a Curve25519
// encryption subkey, with the EdDSA (22) and ECDH (18) algorithm
// identifiers that RFC 9580 keeps as "legacy" rather than its new Ed25519
// (27) and X25519 (25): GnuPG 2.2 and 2.4, what peer teams and
// constituents run, know only the former, and generate such keys by
// default. RSA 3072 would be as compatible, but slower, and its
// signatures and keys are several times larger. The key never expires: an expiring team key
// would stop every notification on the day it lapses; a team retires its
// key by revoking it.
func GenerateIdentity(name, email string, now time.Time) (string, error) {
	if strings.TrimSpace(name) == "" || strings.TrimSpace(email) == "" {
		return "", errors.New("generate team key: name and e-mail address are required")
	}
	config := &packet.Config{
		Algorithm:     packet.PubKeyAlgoEdDSA,
		Curve:         packet.Curve25519,
		DefaultHash:   crypto.SHA256,
		DefaultCipher: packet.CipherAES256,
		Time:          func() time.Time { return now },
	}
	entity, err := openpgp.NewEntity(name, "", email, config)
	if err != nil {
		return "", fmt.Errorf("generate team key: %w", err)
	}
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PrivateKeyType, nil)
	if err != nil {
		return "", fmt.Errorf("generate team key: %w", err)
	}
	// NewEntity already signed the user ID and the subkey; signing again
	// would only replace those signatures with identical ones.
	if err := entity.SerializePrivateWithoutSigning(w, config); err != nil {
		return "", fmt.Errorf("generate team key: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("generate team key: %w", err)
	}
	out.WriteByte('\n')
	return out.String(), nil
}

// ParseIdentity reads the team's armored private key (as written by
// GenerateIdentity or `gpg --armor --export-secret-keys`), unlocking it with
// passphrase when it is protected. It refuses a public key, a key that
// expired or was revoked, and a key that cannot both sign and encrypt: the
// team signs every message and encrypts a copy to itself.
func ParseIdentity(armoredPrivate, passphrase string) (*Identity, error) {
	now := time.Now()
	block, err := armor.Decode(strings.NewReader(armoredPrivate))
	if err != nil {
		return nil, &KeyError{Problem: i18n.M("pgpmime.teamkey.noarmor"), Err: ErrNotPrivateKey}
	}
	if block.Type == openpgp.PublicKeyType {
		return nil, &KeyError{Problem: i18n.M("pgpmime.teamkey.public"), Err: ErrNotPrivateKey}
	}
	if block.Type != openpgp.PrivateKeyType {
		return nil, &KeyError{Problem: i18n.M("pgpmime.teamkey.block", block.Type), Err: ErrNotPrivateKey}
	}
	keys, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, &KeyError{Problem: i18n.M("pgpmime.teamkey.unreadable", strings.TrimPrefix(err.Error(), "openpgp: ")), Err: err}
	}
	if len(keys) != 1 {
		return nil, &KeyError{Problem: i18n.M("pgpmime.teamkey.many", len(keys))}
	}
	entity := keys[0]
	if entity.PrivateKey == nil {
		return nil, &KeyError{Problem: i18n.M("pgpmime.teamkey.notprivate"), Err: ErrNotPrivateKey}
	}
	fingerprint := fmt.Sprintf("%X", entity.PrimaryKey.Fingerprint)
	if locked(entity) {
		if passphrase == "" {
			return nil, &KeyError{fingerprint, i18n.M("pgpmime.teamkey.passphrase"), ErrPassphraseRequired}
		}
		if err := entity.DecryptPrivateKeys([]byte(passphrase)); err != nil {
			if errors.Is(err, pgperrors.ErrKeyIncorrect) || isStructural(err) {
				return nil, &KeyError{fingerprint, i18n.M("pgpmime.teamkey.wrongpassphrase"), ErrWrongPassphrase}
			}
			return nil, &KeyError{fingerprint, i18n.M("pgpmime.teamkey.unlock", strings.TrimPrefix(err.Error(), "openpgp: ")), err}
		}
	}
	if problem, err := unusable(entity, now); err != nil {
		return nil, &KeyError{fingerprint, i18n.M("pgpmime.teamkey.unusable", problem), err}
	}
	signing, ok := entity.SigningKey(now)
	if !ok || signing.PrivateKey == nil || signing.PrivateKey.Dummy() {
		return nil, &KeyError{fingerprint, i18n.M("pgpmime.teamkey.cannotsign"), ErrCannotSign}
	}
	encryption, ok := entity.EncryptionKey(now)
	if !ok || encryption.PrivateKey == nil || encryption.PrivateKey.Dummy() {
		return nil, &KeyError{fingerprint, i18n.M("pgpmime.teamkey.cannotencrypt"), ErrCannotEncrypt}
	}
	public, err := armorPublic(entity)
	if err != nil {
		return nil, &KeyError{fingerprint, i18n.M("pgpmime.teamkey.armor", err.Error()), err}
	}
	return &Identity{entity: entity, publicKey: public}, nil
}

// KeyError is a key that ParseIdentity refuses as the team's: why, by
// catalogue ID (Problem), for the console and vigil serve to say in the
// reader's language, and the reason behind it (Err), one of the Err*
// values above when it is one of them, for errors.Is.
type KeyError struct {
	// Fingerprint is the key's, in hexadecimal capitals; "" when the
	// key could not be read as far as that.
	Fingerprint string
	Problem     i18n.Message
	Err         error
}

// Error is the problem in English, for the log.
func (e *KeyError) Error() string {
	msg := "read team key: "
	if e.Fingerprint != "" {
		msg = "read team key " + e.Fingerprint + ": "
	}
	msg += e.Problem.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *KeyError) Unwrap() error         { return e.Err }
func (e *KeyError) Explain() i18n.Message { return e.Problem }

// locked reports whether any secret key of e still needs its passphrase.
func locked(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted && !e.PrivateKey.Dummy() {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted && !s.PrivateKey.Dummy() {
			return true
		}
	}
	return false
}

// isStructural reports a structural error, which is how a wrong passphrase
// shows up with keys protected by the old SHA-1 checksum.
func isStructural(err error) bool {
	var s pgperrors.StructuralError
	return errors.As(err, &s)
}

// unusable says, in words and as one of ErrKeyRevoked or ErrKeyExpired,
// why the primary key of e is not valid at now; it returns a nil error for
// a valid key.
func unusable(e *openpgp.Entity, now time.Time) (i18n.Message, error) {
	if e.Revoked(now) {
		return i18n.M("pgpmime.error.revoked", revocationReason(e.Revocations)), ErrKeyRevoked
	}
	self, identity := e.PrimarySelfSignature()
	if self == nil {
		return i18n.M("pgpmime.error.selfsignature"), ErrKeyExpired
	}
	if e.PrimaryKey.CreationTime.After(now) {
		return i18n.M("pgpmime.error.future", day(e.PrimaryKey.CreationTime)), ErrKeyExpired
	}
	if expiry := keyExpiry(e.PrimaryKey, self); !expiry.IsZero() && now.After(expiry) {
		return i18n.M("pgpmime.error.expired", day(expiry)), ErrKeyExpired
	}
	if self.SigExpired(now) {
		return i18n.M("pgpmime.error.selfsignature.expired"), ErrKeyExpired
	}
	if identity != nil && identity.Revoked(now) {
		return i18n.M("pgpmime.error.userid.revoked", identity.Name, revocationReason(identity.Revocations)), ErrKeyRevoked
	}
	return i18n.Message{}, nil
}

// keyExpiry is when pk stops being valid under its binding signature sig,
// zero when never.
func keyExpiry(pk *packet.PublicKey, sig *packet.Signature) time.Time {
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return pk.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
}

// revocationReason is the reason of the first revocation, as the end of
// a sentence (": key compromised (stolen laptop)") in a Message, or ""
// when none is given.
func revocationReason(revocations []*packet.Signature) any {
	if len(revocations) == 0 {
		return ""
	}
	r := revocations[0]
	var code string
	if r.RevocationReason != nil {
		code = revocationCodes[*r.RevocationReason]
	}
	text := strings.TrimSpace(r.RevocationReasonText)
	switch {
	case code == "" && text == "":
		return ""
	case code == "":
		return i18n.M("pgpmime.revocation", text)
	case text == "":
		return i18n.M("pgpmime.revocation", i18n.M(code))
	}
	return i18n.M("pgpmime.revocation.text", i18n.M(code), text)
}

// revocationCodes are the messages of the reasons for revocation that
// RFC 4880 codes.
var revocationCodes = map[packet.ReasonForRevocation]string{
	packet.KeySuperseded:  "pgpmime.revocation.superseded",
	packet.KeyCompromised: "pgpmime.revocation.compromised",
	packet.KeyRetired:     "pgpmime.revocation.retired",
	packet.UserIDNotValid: "pgpmime.revocation.userid",
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// armorPublic returns the public part of e, armored for publishing.
func armorPublic(e *openpgp.Entity) (string, error) {
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PublicKeyType, nil)
	if err != nil {
		return "", fmt.Errorf("armor public key: %w", err)
	}
	if err := e.Serialize(w); err != nil {
		return "", fmt.Errorf("serialize public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("armor public key: %w", err)
	}
	out.WriteByte('\n')
	return out.String(), nil
}

// userIDs lists e's user IDs, the primary one first, then in order.
func userIDs(e *openpgp.Entity) []string {
	primary := ""
	if id := e.PrimaryIdentity(); id != nil {
		primary = id.Name
	}
	ids := make([]string, 0, len(e.Identities))
	for name := range e.Identities {
		if name != primary {
			ids = append(ids, name)
		}
	}
	sort.Strings(ids)
	if primary != "" {
		ids = append([]string{primary}, ids...)
	}
	return ids
}

// Fingerprint is the primary key's fingerprint in upper-case hexadecimal,
// as gpg prints it without spaces.
func (id *Identity) Fingerprint() string { return fmt.Sprintf("%X", id.entity.PrimaryKey.Fingerprint) }

// UserIDs lists the key's user IDs ("Name <address>"), the primary first.
func (id *Identity) UserIDs() []string { return userIDs(id.entity) }

// Created is when the primary key was made.
func (id *Identity) Created() time.Time { return id.entity.PrimaryKey.CreationTime }

// Expires is when the key stops being valid, zero if never.
func (id *Identity) Expires() time.Time {
	self, _ := id.entity.PrimarySelfSignature()
	return keyExpiry(id.entity.PrimaryKey, self)
}

// PublicKey is the armored public key, for the team's web site, its
// security.txt Encryption field and key servers.
func (id *Identity) PublicKey() string { return id.publicKey }

// Entity is the unlocked key, for use as an openpgp.KeyRing (with Open, to
// read the team's own sent mail). Callers must not modify it.
func (id *Identity) Entity() *openpgp.Entity { return id.entity }

// Interface guards.
var _ i18n.Explained = (*KeyError)(nil)
