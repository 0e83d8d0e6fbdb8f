package pgpmime

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// ErrUnusableKey is returned by SignAndEncrypt for a recipient key that
// InspectKey would not call Usable; the error carries the Problem.
var ErrUnusableKey = errors.New("unusable recipient key")

// minimumKeyBits is the smallest RSA or ElGamal key Vigil encrypts to:
// 1024-bit keys are within reach of a well-funded attacker.
const minimumKeyBits = 2048

// KeyStatus is what Vigil makes of a contact's public key: whether mail can
// be encrypted to it and, if not, why, in words for the console.
type KeyStatus struct {
	// Usable is true when mail can be encrypted to the key now.
	Usable bool
	// Fingerprint is the primary key's fingerprint in upper-case
	// hexadecimal; empty when the input is not a key.
	Fingerprint string
	UserIDs     []string
	Created     time.Time
	// Expires is when encryption to the key stops working: the earlier of
	// the primary key's and the encryption subkey's expiry; zero if never.
	Expires time.Time
	// Problem says why the key is not usable ("expired on 2026-03-01",
	// "revoked: key compromised", "has no key that can encrypt"); empty
	// when Usable.
	Problem string
	// Message is Problem by catalogue ID, for the console to translate.
	Message i18n.Message
}

// fail records why the key is not usable.
func (s *KeyStatus) fail(m i18n.Message) {
	s.Problem, s.Message = m.String(), m
}

// InspectKey judges an armored public key as pasted by a person or fetched
// from a key server, at time now. It never fails: anything that is not one
// usable public key comes back with Usable false and a Problem, including
// a private key pasted by mistake.
func InspectKey(armoredPublic string, now time.Time) KeyStatus {
	_, status := inspect(armoredPublic, now)
	return status
}

// inspect is InspectKey that also returns the key when it is usable.
func inspect(armoredPublic string, now time.Time) (*openpgp.Entity, KeyStatus) {
	entity, status := readPublicKey(armoredPublic)
	if entity == nil {
		return nil, status
	}
	if problem, err := unusable(entity, now); err != nil {
		status.fail(problem)
		return nil, status
	}
	key, ok := entity.EncryptionKey(now)
	if !ok {
		status.fail(encryptionProblem(entity, now))
		return nil, status
	}
	if bits, weak := weakKey(key.PublicKey); weak {
		status.fail(i18n.M("pgpmime.error.weak", bits, algorithmName(key.PublicKey.PubKeyAlgo)))
		return nil, status
	}
	status.Expires = earliest(status.Expires, keyExpiry(key.PublicKey, key.SelfSignature))
	status.Usable = true
	return entity, status
}

// readPublicKey reads exactly one public key; on failure it returns a nil
// entity and a status with the Problem.
func readPublicKey(armored string) (*openpgp.Entity, KeyStatus) {
	var status KeyStatus
	if strings.TrimSpace(armored) == "" {
		status.fail(i18n.M("pgpmime.error.nokey"))
		return nil, status
	}
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		status.fail(i18n.M("pgpmime.error.notkey"))
		return nil, status
	}
	switch block.Type {
	case openpgp.PublicKeyType:
	case openpgp.PrivateKeyType:
		// Read on only to name the key in the answer.
		status.fail(privateKeyProblem)
		if keys, err := openpgp.ReadKeyRing(block.Body); err == nil && len(keys) == 1 {
			status.Fingerprint = fmt.Sprintf("%X", keys[0].PrimaryKey.Fingerprint)
			status.UserIDs = userIDs(keys[0])
			status.Created = keys[0].PrimaryKey.CreationTime
		}
		return nil, status
	default:
		status.fail(i18n.M("pgpmime.error.block", block.Type))
		return nil, status
	}
	keys, err := openpgp.ReadKeyRing(block.Body)
	if err != nil || len(keys) == 0 {
		status.fail(i18n.M("pgpmime.error.unreadable"))
		if err != nil {
			status.fail(i18n.M("pgpmime.error.unreadable.detail", strings.TrimPrefix(err.Error(), "openpgp: ")))
		}
		return nil, status
	}
	if len(keys) > 1 {
		status.fail(i18n.M("pgpmime.error.many", len(keys)))
		return nil, status
	}
	entity := keys[0]
	status.Fingerprint = fmt.Sprintf("%X", entity.PrimaryKey.Fingerprint)
	status.UserIDs = userIDs(entity)
	status.Created = entity.PrimaryKey.CreationTime
	if self, _ := entity.PrimarySelfSignature(); self != nil {
		status.Expires = keyExpiry(entity.PrimaryKey, self)
	}
	if hasSecret(entity) {
		// Refuse it even when the public part is fine: storing a contact's
		// secret key would make Vigil a place it can leak from.
		secret := KeyStatus{Fingerprint: status.Fingerprint, UserIDs: status.UserIDs, Created: status.Created}
		secret.fail(privateKeyProblem)
		return nil, secret
	}
	return entity, status
}

var privateKeyProblem = i18n.M("pgpmime.error.private")

func hasSecret(e *openpgp.Entity) bool {
	if e.PrivateKey != nil {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil {
			return true
		}
	}
	return false
}

// encryptionProblem explains why a valid primary key offers no encryption
// key at now.
func encryptionProblem(e *openpgp.Entity, now time.Time) i18n.Message {
	var expired time.Time
	var revoked i18n.Message
	candidates := 0
	for _, s := range e.Subkeys {
		if s.Sig == nil || !s.Sig.FlagsValid || !s.Sig.FlagEncryptCommunications || !s.PublicKey.PubKeyAlgo.CanEncrypt() {
			continue
		}
		candidates++
		switch {
		case s.Revoked(now):
			revoked = i18n.M("pgpmime.error.subkey.revoked", revocationReason(s.Revocations))
		case s.PublicKey.KeyExpired(s.Sig, now) || s.Sig.SigExpired(now):
			if t := keyExpiry(s.PublicKey, s.Sig); t.After(expired) {
				expired = t
			}
		}
	}
	switch {
	case candidates == 0:
		return i18n.M("pgpmime.error.noencrypt")
	case !expired.IsZero():
		return i18n.M("pgpmime.error.subkey.expired", day(expired))
	case !revoked.IsZero():
		return revoked
	}
	return i18n.M("pgpmime.error.noencrypt")
}

// weakKey reports an RSA or ElGamal key shorter than minimumKeyBits.
func weakKey(pk *packet.PublicKey) (int, bool) {
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoElGamal:
		bits, err := pk.BitLength()
		if err != nil {
			return 0, true
		}
		return int(bits), bits < minimumKeyBits
	}
	return 0, false
}

func algorithmName(a packet.PublicKeyAlgorithm) string {
	switch a {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		return "RSA"
	case packet.PubKeyAlgoElGamal:
		return "ElGamal"
	}
	return fmt.Sprintf("algorithm %d", a)
}

// earliest returns the earlier of two expiry times, where zero is never.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

// recipientEntity reads a recipient key for SignAndEncrypt, refusing what
// InspectKey would not call usable at now.
func recipientEntity(armored string, now time.Time) (*openpgp.Entity, error) {
	entity, status := inspect(armored, now)
	if entity == nil {
		if status.Fingerprint != "" {
			return nil, fmt.Errorf("key %s %s: %w", status.Fingerprint, status.Problem, ErrUnusableKey)
		}
		return nil, fmt.Errorf("%s: %w", status.Problem, ErrUnusableKey)
	}
	return entity, nil
}
