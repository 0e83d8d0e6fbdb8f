// Package sealed keeps Vigil's secrets encrypted at rest: the TOTP secrets
// of accounts and the team's OpenPGP private key are stored sealed with
// XChaCha20-Poly1305 under a key that lives outside the database — a
// key file in the data directory (mode 0600) or VIGIL_SECRET_KEY — so a
// copy of the database alone (a backup, a dump, a stolen disk image of
// the database server) does not give them away.
package sealed

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of the secret key in bytes.
const KeySize = chacha20poly1305.KeySize

// prefix marks a sealed value. Plain TOTP secrets are base32 and armored
// keys start with "-----", so no plain value starts with it: values
// written by an earlier version are recognised and read as they are.
const prefix = "vigil-sealed:v1:"

// ErrWrongKey means a sealed value does not open with this key: it was
// sealed with another key, or it was altered.
var ErrWrongKey = errors.New("sealed value does not open with this secret key (another key, or altered)")

// Box seals and opens values with one key.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a box for a KeySize-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealed: secret key is %d bytes, want %d", len(key), KeySize)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain for the record named by context (a user's id, a
// state key), which is bound to it as associated data: a sealed value
// copied to another record does not open there.
func (b *Box) Seal(plain []byte, context string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sealed: nonce: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, plain, []byte(context))
	return prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal made for the same context. A value that is
// not sealed (written by an earlier version) is returned as it is.
func (b *Box) Open(value, context string) ([]byte, error) {
	if !IsSealed(value) {
		return []byte(value), nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(value[len(prefix):])
	if err != nil || len(raw) < b.aead.NonceSize()+b.aead.Overhead() {
		return nil, fmt.Errorf("sealed: %s: malformed sealed value", context)
	}
	ns := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:ns], raw[ns:], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("sealed: %s: %w", context, ErrWrongKey)
	}
	return plain, nil
}

// IsSealed reports whether value was made by Seal.
func IsSealed(value string) bool { return strings.HasPrefix(value, prefix) }
