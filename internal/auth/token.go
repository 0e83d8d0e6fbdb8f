package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// APITokenPrefix starts every API token, so leaked tokens are easy to
// recognise by secret scanners.
const APITokenPrefix = "vgl_"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// HashAPIToken is what the store keeps of a token: SHA-256 of the whole
// token string, prefix included. internal/api computes the same.
func HashAPIToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewAPIToken creates a token for userID named name, stores its hash and
// returns the plaintext, which is shown once and never again.
func NewAPIToken(ctx context.Context, st TokenStore, userID int64, name string) (string, APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", APIToken{}, fmt.Errorf("token name must be 1 to 100 characters")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", APIToken{}, fmt.Errorf("api token: %w", err)
	}
	plain := APITokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(b))
	t := APIToken{UserID: userID, Name: name, Hash: HashAPIToken(plain)}
	if err := st.CreateAPIToken(ctx, &t); err != nil {
		return "", APIToken{}, fmt.Errorf("api token: store: %w", err)
	}
	return plain, t, nil
}
