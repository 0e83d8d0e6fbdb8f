package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// ErrInvalidCredentials is the one answer to a wrong name, a wrong
// password, a disabled account or a wrong second-factor code, so the reply
// does not tell which accounts exist.
var ErrInvalidCredentials = errors.New("invalid name or password")

// ErrRateLimited means too many recent failures of the account from the
// client's address, or from the address; the error is a *ThrottledError
// that says how long to wait.
var ErrRateLimited = errors.New("too many failed attempts")

// Logins checks credentials with rate limiting and auditing.
type Logins struct {
	store   LoginStore
	limiter *Limiter
	logger  *slog.Logger
	now     func() time.Time
	// dummyHash is checked when the account does not exist, so the reply
	// takes as long as for a real account.
	dummyHash string
}

// NewLogins returns a login checker; limiter nil means DefaultLimiter.
func NewLogins(st LoginStore, limiter *Limiter, logger *slog.Logger) (*Logins, error) {
	if limiter == nil {
		limiter = DefaultLimiter()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dummy, err := RandomToken(16)
	if err != nil {
		return nil, err
	}
	h, err := HashPassword(dummy)
	if err != nil {
		return nil, err
	}
	return &Logins{store: st, limiter: limiter, logger: logger, now: time.Now, dummyHash: h}, nil
}

// CheckPassword verifies name and password from client address ip. It
// returns the user on success; ErrRateLimited or ErrInvalidCredentials
// otherwise. Failures and successes of accounts without a second factor are
// audited here; the caller audits the end of a TOTP login.
func (l *Logins) CheckPassword(ctx context.Context, ip, name, password string) (User, error) {
	name = strings.TrimSpace(name)
	attempt, err := l.limiter.Begin(name, ip)
	if err != nil {
		return User{}, err
	}
	u, err := l.store.GetUserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.limiter.Passed(attempt) // the store failed, not the guess
		return User{}, fmt.Errorf("login lookup %q: %w", name, err)
	}
	hash := l.dummyHash
	if err == nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, herr := CheckPassword(hash, password)
	if herr != nil {
		l.logger.Error("stored password hash unreadable", "user", name, "err", herr)
		ok = false
	}
	if err != nil || !ok || u.Disabled {
		l.audit(ctx, AuditEntry{UserID: u.ID, Actor: name, Action: "login.failure", Target: name, Detail: "from " + ip})
		l.auditThrottles(ctx, l.limiter.Failed(attempt))
		return User{}, ErrInvalidCredentials
	}
	l.limiter.Passed(attempt)
	return u, nil
}

// CheckSecondFactor verifies a TOTP code of u, or one of its recovery
// codes, counting wrong codes against the same limits as wrong passwords.
// Each TOTP code and each recovery code is accepted once: a code seen
// over a shoulder or replayed from a log is refused like a wrong one.
func (l *Logins) CheckSecondFactor(ctx context.Context, ip string, u User, code string) error {
	attempt, err := l.limiter.Begin(u.Name, ip)
	if err != nil {
		return err
	}
	method, ok, err := ProveSecondFactor(ctx, l.store, u, code, l.now())
	if err != nil {
		l.limiter.Passed(attempt) // the store failed, not the guess
		return err
	}
	return l.settle(ctx, attempt, u, ok, method,
		AuditEntry{Action: "login.failure", Detail: "wrong or used second-factor code from " + ip}, "login from "+ip)
}

// Reauthenticate is asked before a change that could take an account
// over (its second factor): the current password, and when u has a
// second factor, a current code or a recovery code, so that a stolen
// session alone is not enough. Failures count like failed logins.
func (l *Logins) Reauthenticate(ctx context.Context, ip string, u User, password, code string) error {
	attempt, err := l.limiter.Begin(u.Name, ip)
	if err != nil {
		return err
	}
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil && !errors.Is(err, ErrBadHash) {
		l.limiter.Passed(attempt)
		return fmt.Errorf("reauthenticate %s: %w", u.Name, err)
	}
	// The code is only tried after the password, so a wrong password does
	// not spend a recovery code or a TOTP step.
	method := SecondFactorMethod("")
	if ok && u.TOTPSecret != "" {
		method, ok, err = ProveSecondFactor(ctx, l.store, u, code, l.now())
		if err != nil {
			l.limiter.Passed(attempt)
			return fmt.Errorf("reauthenticate %s: %w", u.Name, err)
		}
	}
	return l.settle(ctx, attempt, u, ok, method,
		AuditEntry{Action: "account.reauth.failure", Detail: "wrong password or second-factor code from " + ip}, "account change from "+ip)
}

// settle ends a second-factor attempt of u: a failure is audited as
// failure (completed with u) and counted by the limiter; a success frees
// the attempt, and a recovery code's use is audited with why.
func (l *Logins) settle(ctx context.Context, attempt *Attempt, u User, ok bool, method SecondFactorMethod, failure AuditEntry, why string) error {
	if !ok {
		failure.UserID, failure.Actor, failure.Target = u.ID, u.Name, u.Name
		l.audit(ctx, failure)
		l.auditThrottles(ctx, l.limiter.Failed(attempt))
		return ErrInvalidCredentials
	}
	l.limiter.Passed(attempt)
	if method == MethodRecoveryCode {
		l.auditRecoveryCode(ctx, u, why)
	}
	return nil
}

// auditRecoveryCode records the use of a recovery code with how many are
// left, so that running low shows in the log.
func (l *Logins) auditRecoveryCode(ctx context.Context, u User, why string) {
	left, err := l.store.CountRecoveryCodes(ctx, u.ID)
	if err != nil {
		l.logger.Error("count recovery codes", "user", u.Name, "err", err)
	}
	l.audit(ctx, AuditEntry{UserID: u.ID, Actor: u.Name, Action: "user.recovery.use", Target: u.Name,
		Detail: fmt.Sprintf("%s; %d left", why, left)})
}

// Succeeded records a completed login.
func (l *Logins) Succeeded(ctx context.Context, ip string, u User) {
	l.limiter.Reset(u.Name, ip)
	l.audit(ctx, AuditEntry{UserID: u.ID, Actor: u.Name, Action: "login.success", Target: u.Name, Detail: "from " + ip})
}

// auditThrottles records each wait a failure begins; attempts refused
// while waiting are not audited one by one, so a password spray cannot
// flood the log.
func (l *Logins) auditThrottles(ctx context.Context, started []Throttle) {
	for _, t := range started {
		l.audit(ctx, throttleAudit(t))
	}
}

func (l *Logins) audit(ctx context.Context, e AuditEntry) {
	if err := Record(ctx, l.store, e); err != nil {
		l.logger.Error("audit", "action", e.Action, "err", err)
	}
}

// PendingLogins holds logins that passed the password and wait for the
// second factor. They live in memory for a few minutes: a restart only
// means typing the password again.
type PendingLogins struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	pending map[string]pendingLogin
}

type pendingLogin struct {
	userID   int64
	expires  time.Time
	attempts int
}

// maxPendingAttempts is how many codes one pending login may try.
const maxPendingAttempts = 5

// NewPendingLogins keeps pending logins for ttl (default 5 minutes).
func NewPendingLogins(ttl time.Duration) *PendingLogins {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &PendingLogins{ttl: ttl, now: time.Now, pending: make(map[string]pendingLogin)}
}

// Start registers a pending login and returns its token for a cookie.
func (p *PendingLogins) Start(userID int64) (string, error) {
	tok, err := RandomToken(32)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for k, v := range p.pending {
		if now.After(v.expires) {
			delete(p.pending, k)
		}
	}
	p.pending[tok] = pendingLogin{userID: userID, expires: now.Add(p.ttl)}
	return tok, nil
}

// Attempt returns the user of a pending login and counts one code attempt;
// ok is false when the token is unknown, expired or used up.
func (p *PendingLogins) Attempt(token string) (userID int64, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, found := p.pending[token]
	if !found || p.now().After(v.expires) || v.attempts >= maxPendingAttempts {
		delete(p.pending, token)
		return 0, false
	}
	v.attempts++
	p.pending[token] = v
	return v.userID, true
}

// Finish forgets a pending login.
func (p *PendingLogins) Finish(token string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, token)
}
