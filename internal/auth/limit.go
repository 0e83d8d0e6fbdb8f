package auth

import (
	"sync"
	"time"
)

// Limiter counts login failures per key (a client address, an account
// name) and locks a key out after too many in a window. A success resets
// only the key it names, so a valid account of the attacker's cannot clear
// the attacker's address.
type Limiter struct {
	max     int
	window  time.Duration
	lockout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]*limitEntry
}

type limitEntry struct {
	failures    int
	first       time.Time
	lockedUntil time.Time
}

// maxLimiterEntries bounds memory under a spray of distinct names.
const maxLimiterEntries = 100_000

// NewLimiter locks a key for lockout after max failures within window.
func NewLimiter(max int, window, lockout time.Duration) *Limiter {
	return &Limiter{max: max, window: window, lockout: lockout, now: time.Now, entries: make(map[string]*limitEntry)}
}

// DefaultLimiter allows 5 failures per 15 minutes, then locks for 15.
func DefaultLimiter() *Limiter { return NewLimiter(5, 15*time.Minute, 15*time.Minute) }

// Allowed reports whether none of keys is locked.
func (l *Limiter) Allowed(keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		if e, ok := l.entries[k]; ok && now.Before(e.lockedUntil) {
			return false
		}
	}
	return true
}

// Fail records a failure against every key.
func (l *Limiter) Fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.entries) >= maxLimiterEntries {
		l.prune(now)
	}
	for _, k := range keys {
		e, ok := l.entries[k]
		if !ok {
			if len(l.entries) >= maxLimiterEntries {
				continue
			}
			e = &limitEntry{}
			l.entries[k] = e
		}
		if e.failures == 0 || now.Sub(e.first) > l.window {
			e.failures, e.first = 0, now
		}
		e.failures++
		if e.failures >= l.max {
			e.lockedUntil = now.Add(l.lockout)
			e.failures = 0
		}
	}
}

// Reset forgets the failures of keys.
func (l *Limiter) Reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.entries, k)
	}
}

func (l *Limiter) prune(now time.Time) {
	for k, e := range l.entries {
		if now.After(e.lockedUntil) && now.Sub(e.first) > l.window {
			delete(l.entries, k)
		}
	}
}
