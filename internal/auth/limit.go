package auth

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Limiter slows down password guessing without letting anyone lock an
// account for its owner. It counts failed logins per pair (account, client
// address) and per client address across all names, never per account
// alone: a guesser at one address only delays himself, and the owner at
// another address logs in as usual. After a few free failures each further
// attempt of the pair (or address) must wait a delay that doubles with
// every failure, up to a cap; a successful login clears its pair.
//
// Failures of an account from all addresses are counted too, but only as
// a signal for administrators (the audit log, the throttles page): they
// never delay anyone, so a guesser cannot slow the owner down.
//
// Every admitted attempt is counted as a failure when it starts and given
// back when it succeeds, so that parallel guesses cannot all slip through
// the moment a delay ends.
type Limiter struct {
	policy LimitPolicy
	now    func() time.Time

	mu       sync.Mutex
	entries  map[limitKey]*limitEntry
	prunedAt time.Time
}

// LimitPolicy sets how failures are slowed down.
type LimitPolicy struct {
	// PairFailures are the free failures of one account from one address
	// before each further attempt has to wait.
	PairFailures int
	// AddressFailures are the free failures from one address across all
	// account names; it is higher than PairFailures because an office or
	// a university shares one address among many people.
	AddressFailures int
	// AccountSignal is the number of failures of one account from any
	// addresses that is audited as a guessing campaign against it; it
	// delays no one.
	AccountSignal int
	// FirstDelay is the wait after the last free failure; it doubles with
	// every further failure, up to MaxDelay.
	FirstDelay, MaxDelay time.Duration
	// Forget drops the failures of a pair or address that has been quiet
	// this long.
	Forget time.Duration
	// MaxEntries bounds memory under a spray of distinct names and
	// addresses.
	MaxEntries int
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// DefaultLimitPolicy allows 5 failures of an account from an address and
// 20 from an address, then waits 1, 2, 4, … minutes up to half an hour;
// 50 failures of an account from anywhere are reported; failures are
// forgotten after a quiet day.
func DefaultLimitPolicy() LimitPolicy {
	return LimitPolicy{
		PairFailures:    5,
		AddressFailures: 20,
		AccountSignal:   50,
		FirstDelay:      time.Minute,
		MaxDelay:        30 * time.Minute,
		Forget:          24 * time.Hour,
		MaxEntries:      100_000,
	}
}

// limitKey is a pair (account, client), a client address alone or an
// account alone.
type limitKey struct {
	kind    keyKind
	account string
	client  string
}

type keyKind uint8

const (
	kindPair keyKind = iota
	kindAddress
	kindAccount
)

type limitEntry struct {
	failures int
	last     time.Time
	// until is when the next attempt is allowed.
	until time.Time
}

// maxKeyAccount bounds the account name kept in a key: longer names are
// not valid account names, and a guesser must not fill memory with them.
const maxKeyAccount = 128

func accountName(account string) string {
	account = strings.ToLower(strings.TrimSpace(account))
	if len(account) > maxKeyAccount {
		account = account[:maxKeyAccount]
	}
	return account
}

func pairKey(account, client string) limitKey {
	return limitKey{kind: kindPair, account: accountName(account), client: client}
}

func addressKey(client string) limitKey { return limitKey{kind: kindAddress, client: client} }

func accountKey(account string) limitKey {
	return limitKey{kind: kindAccount, account: accountName(account)}
}

// NewLimiter returns a limiter with policy p; zero fields take the
// defaults.
func NewLimiter(p LimitPolicy) *Limiter {
	d := DefaultLimitPolicy()
	p.PairFailures = cmp.Or(p.PairFailures, d.PairFailures)
	p.AddressFailures = cmp.Or(p.AddressFailures, d.AddressFailures)
	p.AccountSignal = cmp.Or(p.AccountSignal, d.AccountSignal)
	p.FirstDelay = cmp.Or(p.FirstDelay, d.FirstDelay)
	p.MaxDelay = max(cmp.Or(p.MaxDelay, d.MaxDelay), p.FirstDelay)
	p.Forget = max(cmp.Or(p.Forget, d.Forget), p.MaxDelay)
	p.MaxEntries = cmp.Or(p.MaxEntries, d.MaxEntries)
	now := p.Now
	if now == nil {
		now = time.Now
	}
	return &Limiter{policy: p, now: now, entries: make(map[limitKey]*limitEntry)}
}

// DefaultLimiter is NewLimiter(DefaultLimitPolicy()).
func DefaultLimiter() *Limiter { return NewLimiter(DefaultLimitPolicy()) }

// ThrottledError refuses an attempt that comes before its wait is over.
// It matches ErrRateLimited with errors.Is.
type ThrottledError struct {
	// Wait is how long until the next attempt is allowed.
	Wait time.Duration
	// Address is true when the whole client address waits (many names
	// tried from it), false when only this account from this address.
	Address bool
}

func (e *ThrottledError) Error() string {
	scope := "this account from this address"
	if e.Address {
		scope = "this address"
	}
	return "too many failed attempts for " + scope + "; retry in " + e.Wait.Round(time.Second).String()
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrRateLimited }

// RetryMinutes is Wait in whole minutes, rounded up, at least 1: what a
// person is told to wait.
func (e *ThrottledError) RetryMinutes() int {
	return int((e.Wait + time.Minute - 1) / time.Minute)
}

// RetryAfterSeconds is Wait in whole seconds, rounded up, at least 1: the
// Retry-After header.
func (e *ThrottledError) RetryAfterSeconds() int {
	return max(1, int((e.Wait+time.Second-1)/time.Second))
}

// Throttle is one pair or address that has used up its free failures, or
// an account guessed at from many addresses.
type Throttle struct {
	// Account is empty for an address-wide throttle.
	Account string
	// Client is empty for an account's failures from all addresses,
	// which delay no one.
	Client   string
	Failures int
	// Last is the last failure; Until the earliest next attempt (zero
	// for an account's failures from all addresses).
	Last, Until time.Time
}

// Attempt is an admitted login attempt; tell the limiter how it ended
// with Failed or Passed.
type Attempt struct {
	keys [3]limitKey
	// entry, set and before are per key: the entry counted, the wait this
	// attempt set and the one it replaced, to give back on success.
	entry  [3]*limitEntry
	set    [3]time.Time
	before [3]time.Time
	// started are the throttles this attempt began or lengthened.
	started []Throttle
}

// delay is the wait after failures failures against a threshold of free.
func (l *Limiter) delay(failures, free int) time.Duration {
	if failures < free {
		return 0
	}
	d := l.policy.FirstDelay
	for range failures - free {
		d *= 2
		if d >= l.policy.MaxDelay {
			return l.policy.MaxDelay
		}
	}
	return min(d, l.policy.MaxDelay)
}

func (l *Limiter) threshold(k limitKey) int {
	switch k.kind {
	case kindPair:
		return l.policy.PairFailures
	case kindAddress:
		return l.policy.AddressFailures
	}
	return l.policy.AccountSignal
}

// live returns the entry of k unless it has been forgotten.
func (l *Limiter) live(k limitKey, now time.Time) *limitEntry {
	e, ok := l.entries[k]
	if !ok {
		return nil
	}
	if !now.Before(e.until) && now.Sub(e.last) > l.policy.Forget {
		delete(l.entries, k)
		return nil
	}
	return e
}

// Begin admits an attempt at account from client, or refuses it with a
// *ThrottledError while the pair or the address has to wait. An admitted
// attempt is counted as a failure until Passed says otherwise.
func (l *Limiter) Begin(account, client string) (*Attempt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := &Attempt{keys: [3]limitKey{pairKey(account, client), addressKey(client), accountKey(account)}}
	for _, k := range a.keys[:2] {
		if e := l.live(k, now); e != nil && now.Before(e.until) {
			return nil, &ThrottledError{Wait: e.until.Sub(now), Address: k.kind == kindAddress}
		}
	}
	for i, k := range a.keys {
		e := l.live(k, now)
		if e == nil {
			if len(l.entries) >= l.policy.MaxEntries {
				l.prune(now)
			}
			if len(l.entries) >= l.policy.MaxEntries {
				// Every entry is a running throttle: this key goes
				// uncounted rather than pushing one of them out.
				continue
			}
			e = &limitEntry{}
			l.entries[k] = e
		}
		a.entry[i], a.before[i] = e, e.until
		e.failures++
		e.last = now
		if k.kind == kindAccount {
			// A signal, never a wait: reported once, when reached.
			if e.failures == l.threshold(k) {
				a.started = append(a.started, throttleOf(k, e))
			}
			continue
		}
		if d := l.delay(e.failures, l.threshold(k)); d > 0 {
			e.until = now.Add(d)
			a.set[i] = e.until
			a.started = append(a.started, throttleOf(k, e))
		}
	}
	return a, nil
}

// Failed confirms that a failed; it returns the throttles the failure
// began or lengthened, for the audit log.
func (l *Limiter) Failed(a *Attempt) []Throttle { return a.started }

// Passed gives back the failure counted for a: the credentials were right.
func (l *Limiter) Passed(a *Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, k := range a.keys {
		e := a.entry[i]
		if e == nil || l.entries[k] != e {
			continue // forgotten or cleared meanwhile
		}
		e.failures = max(0, e.failures-1)
		if !a.set[i].IsZero() && e.until.Equal(a.set[i]) {
			e.until = a.before[i]
		}
		if e.failures == 0 {
			delete(l.entries, k)
		}
	}
}

// Reset forgets the failures of account from client, after a completed
// login. The address's count stays: a guesser's own valid account must
// not clear his address.
func (l *Limiter) Reset(account, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, pairKey(account, client))
}

// Throttles lists the pairs and addresses past their free failures and
// the accounts past AccountSignal, the latest wait first.
func (l *Limiter) Throttles() []Throttle {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var out []Throttle
	for k := range l.entries {
		e := l.live(k, now)
		if e == nil || e.failures < l.threshold(k) {
			continue
		}
		out = append(out, throttleOf(k, e))
	}
	slices.SortFunc(out, func(a, b Throttle) int {
		return cmp.Or(b.Until.Compare(a.Until), b.Last.Compare(a.Last), cmp.Compare(a.Client, b.Client), cmp.Compare(a.Account, b.Account))
	})
	return out
}

// Clear forgets the throttle of account from client (account empty: the
// address-wide one; client empty: the account's failures from all
// addresses) and reports whether there was one.
func (l *Limiter) Clear(account, client string) bool {
	var k limitKey
	switch {
	case account == "" && client == "":
		return false
	case account == "":
		k = addressKey(client)
	case client == "":
		k = accountKey(account)
	default:
		k = pairKey(account, client)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.entries[k]
	delete(l.entries, k)
	return ok
}

// Len is the number of pairs, addresses and accounts tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func throttleOf(k limitKey, e *limitEntry) Throttle {
	return Throttle{Account: k.account, Client: k.client, Failures: e.failures, Last: e.last, Until: e.until}
}

// prune makes room: first it forgets what has been quiet long enough, then
// what is not making anyone wait now (a spray's single failures), so that
// running throttles survive a flood of new names. A full table of running
// throttles is scanned at most once a second.
func (l *Limiter) prune(now time.Time) {
	if now.Sub(l.prunedAt) < time.Second && now.After(l.prunedAt) {
		return
	}
	l.prunedAt = now
	for k := range l.entries {
		l.live(k, now)
	}
	if len(l.entries) < l.policy.MaxEntries {
		return
	}
	for k, e := range l.entries {
		if !now.Before(e.until) {
			delete(l.entries, k)
		}
	}
}
