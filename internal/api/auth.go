package api

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// TokenPrefix starts every API token, so that a leaked one is recognisable
// (secret scanners, logs). The contract shared with internal/auth: a token
// is TokenPrefix + base32 of 32 random bytes, and the store keeps only the
// SHA-256 of the whole token string.
const TokenPrefix = "vgl_"

// touchInterval limits how often a token's last use is written: once a
// minute is precise enough for "last used" and keeps a busy script from
// turning every read into a write.
const touchInterval = time.Minute

// caller is the authenticated user of a request and the token it used.
type caller struct {
	user  auth.User
	token auth.APIToken
}

var (
	errNoToken  = errorText(http.StatusUnauthorized, "unauthorized", "", i18n.M("api.error.token.missing", TokenPrefix))
	errBadToken = errorText(http.StatusUnauthorized, "invalid_token", "", i18n.M("api.error.token.invalid"))
)

// authenticate finds the user of the request's bearer token. Unknown
// tokens, tokens of deleted users and of disabled users all get the same
// answer, so the API does not tell which accounts exist.
func (h *handler) authenticate(r *http.Request) (*caller, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return nil, errNoToken
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, errNoToken
	}
	token = strings.TrimSpace(token)
	// A real token is about 60 characters; the bound keeps junk cheap.
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 256 {
		return nil, errBadToken
	}
	sum := sha256.Sum256([]byte(token))
	ctx := r.Context()
	tok, err := h.store.GetAPITokenByHash(ctx, sum[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	user, err := h.store.GetUser(ctx, tok.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if user.Disabled {
		return nil, errBadToken
	}
	if now := time.Now(); now.Sub(tok.LastUsed) >= touchInterval {
		// Bookkeeping only: a failed write must not refuse the request.
		if err := h.store.TouchAPIToken(ctx, tok.ID, now); err != nil {
			h.log.Warn("api token last use not recorded", "token", tok.ID, "err", err)
		}
	}
	return &caller{user: user, token: tok}, nil
}
