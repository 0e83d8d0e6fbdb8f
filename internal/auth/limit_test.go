package auth

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(3, 10*time.Minute, 5*time.Minute)
	l.now = func() time.Time { return now }

	l.Fail("ip:a", "user:x")
	l.Fail("ip:a", "user:x")
	if !l.Allowed("ip:a") {
		t.Fatal("locked after 2 of 3 failures")
	}
	l.Fail("ip:a", "user:y")
	if l.Allowed("ip:a") {
		t.Fatal("address not locked after 3 failures")
	}
	if !l.Allowed("user:x") || !l.Allowed("user:y") {
		t.Fatal("accounts locked too early")
	}
	if l.Allowed("ip:b", "ip:a") {
		t.Fatal("Allowed must fail when any key is locked")
	}
	now = now.Add(5*time.Minute + time.Second)
	if !l.Allowed("ip:a") {
		t.Fatal("still locked after the lockout")
	}

	t.Run("window expires", func(t *testing.T) {
		l.Fail("user:z")
		l.Fail("user:z")
		now = now.Add(11 * time.Minute)
		l.Fail("user:z")
		if !l.Allowed("user:z") {
			t.Fatal("failures outside the window counted")
		}
	})
	t.Run("reset", func(t *testing.T) {
		l.Fail("user:r")
		l.Fail("user:r")
		l.Reset("user:r")
		l.Fail("user:r")
		if !l.Allowed("user:r") {
			t.Fatal("reset did not forget failures")
		}
	})
}

func TestPendingLogins(t *testing.T) {
	p := NewPendingLogins(time.Minute)
	now := time.Now()
	p.now = func() time.Time { return now }
	tok, err := p.Start(7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxPendingAttempts {
		if id, ok := p.Attempt(tok); !ok || id != 7 {
			t.Fatalf("attempt %d: id=%d ok=%v", i, id, ok)
		}
	}
	if _, ok := p.Attempt(tok); ok {
		t.Fatal("attempts not limited")
	}
	tok, _ = p.Start(8)
	now = now.Add(2 * time.Minute)
	if _, ok := p.Attempt(tok); ok {
		t.Fatal("expired pending login accepted")
	}
	if _, ok := p.Attempt("nonsense"); ok {
		t.Fatal("unknown token accepted")
	}
}
