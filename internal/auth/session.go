package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// ErrNoSession means the request carries no valid session.
var ErrNoSession = errors.New("no valid session")

// SessionConfig sets session lifetimes and cookie security.
type SessionConfig struct {
	// IdleTimeout ends a session not used for this long (default 2 h).
	IdleTimeout time.Duration
	// MaxAge ends a session this long after login, used or not (default 12 h,
	// one working shift).
	MaxAge time.Duration
	// Secure marks cookies Secure and __Host- prefixed even for requests
	// the web layer did not find to be HTTPS. Requests that arrive over
	// TLS, directly or through a trusted proxy (see IsHTTPS), always get
	// secure cookies; this is for a proxy that cannot say so.
	Secure bool
}

func (c SessionConfig) withDefaults() SessionConfig {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Hour
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 12 * time.Hour
	}
	if c.IdleTimeout > c.MaxAge {
		c.IdleTimeout = c.MaxAge
	}
	return c
}

// refreshEvery limits how often an active session's idle deadline is pushed
// forward, so browsing does not turn every page view into a write.
const refreshEvery = 5 * time.Minute

// Sessions issues, finds and ends browser sessions. The cookie holds 32
// random bytes; the store keeps only their SHA-256, so a copy of the
// database does not let anyone log in.
type Sessions struct {
	store  SessionStore
	cfg    SessionConfig
	logger *slog.Logger
	now    func() time.Time
}

// NewSessions returns a session manager over st.
func NewSessions(st SessionStore, cfg SessionConfig, logger *slog.Logger) *Sessions {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sessions{store: st, cfg: cfg.withDefaults(), logger: logger, now: time.Now}
}

// Secure reports whether cookies for r must be Secure (and __Host-): when
// the browser reached Vigil over HTTPS, as the web layer decided it
// (IsHTTPS), or when the configuration says so.
func (m *Sessions) Secure(r *http.Request) bool { return m.cfg.Secure || IsHTTPS(r) }

// CookieName is the session cookie's name for r.
func (m *Sessions) CookieName(r *http.Request) string {
	if m.Secure(r) {
		return "__Host-vigil-session"
	}
	return "vigil-session"
}

func hashID(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// RandomToken returns n random bytes, URL-safe base64 encoded.
func RandomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create starts a session for userID and sets its cookie on w. Callers
// create a fresh session at every login, never reuse one, so a session id
// planted before login is worthless.
func (m *Sessions) Create(ctx context.Context, w http.ResponseWriter, r *http.Request, userID int64) (Session, error) {
	value, err := RandomToken(32)
	if err != nil {
		return Session{}, err
	}
	csrf, err := RandomToken(32)
	if err != nil {
		return Session{}, err
	}
	now := m.now().UTC()
	s := Session{
		IDHash:    hashID(value),
		UserID:    userID,
		CSRFToken: csrf,
		Created:   now,
		Expires:   now.Add(m.cfg.IdleTimeout),
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	// Sessions are cleaned up opportunistically at login: the only moment
	// the table grows.
	if err := m.store.DeleteExpiredSessions(ctx, now); err != nil {
		m.logger.Warn("delete expired sessions", "err", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     m.CookieName(r),
		Value:    value,
		Path:     "/",
		MaxAge:   int(m.cfg.MaxAge / time.Second),
		HttpOnly: true,
		Secure:   m.Secure(r),
		SameSite: http.SameSiteLaxMode,
	})
	return s, nil
}

// Load returns the session of r. An expired session is deleted. The idle
// deadline of a live session is pushed forward, at most every few minutes.
func (m *Sessions) Load(ctx context.Context, r *http.Request) (Session, error) {
	c, err := r.Cookie(m.CookieName(r))
	if err != nil || c.Value == "" {
		return Session{}, ErrNoSession
	}
	id := hashID(c.Value)
	s, err := m.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("load session: %w", err)
	}
	now := m.now()
	hardEnd := s.Created.Add(m.cfg.MaxAge)
	if !now.Before(s.Expires) || !now.Before(hardEnd) {
		if err := m.store.DeleteSession(ctx, id); err != nil {
			m.logger.Warn("delete expired session", "err", err)
		}
		return Session{}, ErrNoSession
	}
	lastRefresh := s.Expires.Add(-m.cfg.IdleTimeout)
	if now.Sub(lastRefresh) >= refreshEvery && s.Expires.Before(hardEnd) {
		// The store has no update for sessions: replace the row. A
		// concurrent request may do the same; the loser's create fails
		// harmlessly on the duplicate key.
		next := s
		next.Expires = now.Add(m.cfg.IdleTimeout)
		if next.Expires.After(hardEnd) {
			next.Expires = hardEnd
		}
		if err := m.store.DeleteSession(ctx, id); err == nil {
			if err := m.store.CreateSession(ctx, next); err != nil {
				m.logger.Debug("refresh session", "err", err)
			} else {
				s = next
			}
		}
	}
	return s, nil
}

// Destroy ends the session of r, if any, and clears its cookie.
func (m *Sessions) Destroy(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	name := m.CookieName(r)
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: m.Secure(r), SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return nil
	}
	if err := m.store.DeleteSession(ctx, hashID(c.Value)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// CheckCSRF reports whether token is the session's CSRF token.
func CheckCSRF(s Session, token string) bool {
	return s.CSRFToken != "" && subtle.ConstantTimeCompare([]byte(s.CSRFToken), []byte(token)) == 1
}

// formCookieName is the double-submit cookie protecting forms shown before
// login (login, TOTP, setup), where there is no session to hold a token.
func (m *Sessions) formCookieName(r *http.Request) string {
	if m.Secure(r) {
		return "__Host-vigil-form"
	}
	return "vigil-form"
}

// FormToken returns the anonymous form token of r, setting a new cookie on
// w when r has none. Forms carry it in a hidden field; CheckFormToken
// compares the two.
func (m *Sessions) FormToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(m.formCookieName(r)); err == nil && len(c.Value) >= 32 {
		return c.Value, nil
	}
	v, err := RandomToken(32)
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name: m.formCookieName(r), Value: v, Path: "/", HttpOnly: true,
		Secure: m.Secure(r), SameSite: http.SameSiteStrictMode,
	})
	return v, nil
}

// CheckFormToken reports whether the form field equals the form cookie.
func (m *Sessions) CheckFormToken(r *http.Request, field string) bool {
	c, err := r.Cookie(m.formCookieName(r))
	if err != nil || c.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(field)) == 1
}
