package newsletter

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/store"
)

// A token is the subscriber's id, a dot and a secret part: the
// confirmation's random secret, or the unsubscribe HMAC.

// newConfirmToken returns a fresh confirmation secret and its hash; the
// link carries the id before it.
func newConfirmToken() (secret string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret), nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// splitToken reads "id.secret".
func splitToken(token string) (int64, string, error) {
	idText, secret, ok := strings.Cut(token, ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || strconv.FormatInt(id, 10) != idText || secret == "" || len(token) > 200 {
		return 0, "", ErrToken
	}
	return id, secret, nil
}

// checkConfirm reports whether secret is the one whose hash is kept, in
// constant time.
func checkConfirm(secret string, hash []byte) bool {
	return len(hash) == sha256.Size && subtle.ConstantTimeCompare(hashSecret(secret), hash) == 1
}

// UnsubscribeToken is the token of the unsubscribe link of subscriber id:
// an HMAC of the id under secret, so that no lookup is needed to make it.
func UnsubscribeToken(secret []byte, id int64) string {
	return strconv.FormatInt(id, 10) + "." + unsubscribeMAC(secret, id)
}

func unsubscribeMAC(secret []byte, id int64) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "newsletter-unsubscribe\x00%d", id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckUnsubscribeToken returns the subscriber id of a valid unsubscribe
// token, ErrToken otherwise.
func CheckUnsubscribeToken(secret []byte, token string) (int64, error) {
	id, mac, err := splitToken(token)
	if err != nil {
		return 0, err
	}
	if !hmac.Equal([]byte(mac), []byte(unsubscribeMAC(secret, id))) {
		return 0, ErrToken
	}
	return id, nil
}

// SecretStateKey names the server secret of the unsubscribe links in the
// store's state.
const SecretStateKey = "newsletter.secret"

// StateStore is where the secret is kept (the event store's state).
type StateStore interface {
	GetState(ctx context.Context, key string) ([]byte, error)
	PutState(ctx context.Context, key string, value []byte) error
}

// LoadSecret returns the server secret, made and kept the first time.
// Two processes starting at once on a new database could each make one;
// the one written last wins, and links made with the other stop working,
// which only the very first mails could meet.
func LoadSecret(ctx context.Context, st StateStore) ([]byte, error) {
	b, err := st.GetState(ctx, SecretStateKey)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("newsletter: read secret: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := st.PutState(ctx, SecretStateKey, b); err != nil {
		return nil, fmt.Errorf("newsletter: keep secret: %w", err)
	}
	return b, nil
}
