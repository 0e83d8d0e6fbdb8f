package auth

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// testLimiter is a limiter on a clock the test moves by hand.
func testLimiter(p LimitPolicy) (*Limiter, *time.Time) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	return NewLimiter(p), &now
}

// fail makes one admitted attempt that fails, or returns the refusal.
func fail(l *Limiter, account, client string) error {
	a, err := l.Begin(account, client)
	if err != nil {
		return err
	}
	l.Failed(a)
	return nil
}

func throttled(t *testing.T, err error) *ThrottledError {
	t.Helper()
	var te *ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("want a throttle, got %v", err)
	}
	return te
}

func TestLimiterBacksOffPerPair(t *testing.T) {
	l, now := testLimiter(DefaultLimitPolicy())
	for i := range 5 {
		if err := fail(l, "admin", "192.0.2.66"); err != nil {
			t.Fatalf("free failure %d refused: %v", i+1, err)
		}
	}
	// The delays double from one minute up to the half-hour cap.
	for _, want := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		want *= time.Minute
		_, err := l.Begin("admin", "192.0.2.66")
		if te := throttled(t, err); te.Wait != want || te.Address {
			t.Fatalf("wait %v address %v, want %v for the pair", te.Wait, te.Address, want)
		}
		*now = now.Add(want - time.Second)
		if _, err := l.Begin("ADMIN", "192.0.2.66"); err == nil {
			t.Fatalf("admitted a second before the %v wait ended", want)
		}
		*now = now.Add(time.Second)
		if err := fail(l, "admin", "192.0.2.66"); err != nil {
			t.Fatalf("refused after the %v wait: %v", want, err)
		}
	}
	t.Run("the owner at another address is not slowed", func(t *testing.T) {
		a, err := l.Begin("admin", "198.51.100.7")
		if err != nil {
			t.Fatal(err)
		}
		l.Passed(a)
	})
	t.Run("the retry time is told in whole minutes", func(t *testing.T) {
		te := &ThrottledError{Wait: 90 * time.Second}
		if te.RetryMinutes() != 2 || te.RetryAfterSeconds() != 90 {
			t.Fatalf("%d minutes, %d seconds", te.RetryMinutes(), te.RetryAfterSeconds())
		}
	})
}

func TestLimiterSpareOwnerUnderFiftyGuesses(t *testing.T) {
	l, now := testLimiter(DefaultLimitPolicy())
	admitted := 0
	for range 50 {
		if fail(l, "admin", "192.0.2.66") == nil {
			admitted++
		}
		*now = now.Add(10 * time.Second)
	}
	// 5 free ones in the first 40s, then at 100s, 220s and 460s.
	if admitted != 8 {
		t.Errorf("%d of 50 guesses in 500s admitted, want 5 free and 3 after waits of 1, 2 and 4 minutes", admitted)
	}
	if _, err := l.Begin("admin", "203.0.113.9"); err != nil {
		t.Fatalf("the owner from another address: %v", err)
	}
}

func TestLimiterReportsAccountGuessedFromManyAddresses(t *testing.T) {
	l, now := testLimiter(DefaultLimitPolicy())
	var reported []Throttle
	for i := range 60 {
		a, err := l.Begin("admin", fmt.Sprintf("198.51.100.%d", i))
		if err != nil {
			t.Fatalf("address %d: %v", i, err)
		}
		reported = append(reported, l.Failed(a)...)
	}
	want := []Throttle{{Account: "admin", Failures: 50, Last: *now}}
	if fmt.Sprint(reported) != fmt.Sprint(want) {
		t.Fatalf("reported %+v, want %+v", reported, want)
	}
	a, err := l.Begin("admin", "203.0.113.9")
	if err != nil {
		t.Fatalf("the owner is delayed by the campaign: %v", err)
	}
	l.Passed(a)
	if got := l.Throttles(); len(got) != 1 || got[0].Client != "" || got[0].Failures != 60 {
		t.Fatalf("throttles %+v", got)
	}
	if !l.Clear("admin", "") || len(l.Throttles()) != 0 {
		t.Fatal("the account's signal was not cleared")
	}
}

func TestLimiterThrottlesSprayFromOneAddress(t *testing.T) {
	l, _ := testLimiter(DefaultLimitPolicy())
	for i := range 20 {
		if err := fail(l, fmt.Sprintf("name%d", i), "192.0.2.66"); err != nil {
			t.Fatalf("name %d refused: %v", i, err)
		}
	}
	_, err := l.Begin("someone-new", "192.0.2.66")
	if te := throttled(t, err); !te.Address || te.Wait != time.Minute {
		t.Fatalf("wait %v address %v, want a minute for the address", te.Wait, te.Address)
	}
	if _, err := l.Begin("someone-new", "192.0.2.67"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestLimiterSuccess(t *testing.T) {
	t.Run("a passed attempt is given back", func(t *testing.T) {
		l, _ := testLimiter(DefaultLimitPolicy())
		for range 4 {
			fail(l, "ann", "192.0.2.1")
		}
		a, err := l.Begin("ann", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.started) != 1 {
			t.Fatalf("the fifth attempt should count as beginning a wait: %+v", a.started)
		}
		l.Passed(a)
		if _, err := l.Begin("ann", "192.0.2.1"); err != nil {
			t.Fatalf("right password counted as a failure: %v", err)
		}
	})
	t.Run("reset forgets the pair, not the address", func(t *testing.T) {
		l, _ := testLimiter(LimitPolicy{PairFailures: 3, AddressFailures: 4})
		for range 3 {
			fail(l, "ann", "192.0.2.1")
		}
		l.Reset("Ann", "192.0.2.1")
		if err := fail(l, "ann", "192.0.2.1"); err != nil {
			t.Fatalf("pair not reset: %v", err)
		}
		_, err := l.Begin("bob", "192.0.2.1")
		if te := throttled(t, err); !te.Address {
			t.Fatal("a login cleared its address's failures")
		}
	})
	t.Run("quiet failures are forgotten", func(t *testing.T) {
		l, now := testLimiter(DefaultLimitPolicy())
		for range 5 {
			fail(l, "ann", "192.0.2.1")
		}
		*now = now.Add(24*time.Hour + time.Second)
		for i := range 5 {
			if err := fail(l, "ann", "192.0.2.1"); err != nil {
				t.Fatalf("failure %d after a quiet day: %v", i+1, err)
			}
		}
	})
}

func TestLimiterParallelGuessesAfterWait(t *testing.T) {
	l, _ := testLimiter(DefaultLimitPolicy())
	for range 4 {
		fail(l, "admin", "192.0.2.66")
	}
	// Fifty guesses at once: only the fifth free one gets through, the
	// others find the wait it began.
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 50 {
		wg.Go(func() {
			if _, err := l.Begin("admin", "192.0.2.66"); err == nil {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted != 1 {
		t.Fatalf("%d parallel guesses admitted, want 1", admitted)
	}
}

func TestLimiterListsAndClears(t *testing.T) {
	l, now := testLimiter(LimitPolicy{PairFailures: 2, AddressFailures: 3})
	fail(l, "ann", "192.0.2.1")
	if got := l.Throttles(); len(got) != 0 {
		t.Fatalf("free failures listed: %+v", got)
	}
	fail(l, "Ann", "192.0.2.1")
	fail(l, "bob", "192.0.2.1")
	got := l.Throttles()
	want := []Throttle{
		{Client: "192.0.2.1", Failures: 3, Last: *now, Until: now.Add(time.Minute)},
		{Account: "ann", Client: "192.0.2.1", Failures: 2, Last: *now, Until: now.Add(time.Minute)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("throttles\n got %+v\nwant %+v", got, want)
	}
	if !l.Clear("ann", "192.0.2.1") || !l.Clear("", "192.0.2.1") {
		t.Fatal("clear found nothing")
	}
	if l.Clear("ann", "192.0.2.1") {
		t.Fatal("cleared twice")
	}
	if _, err := l.Begin("ann", "192.0.2.1"); err != nil {
		t.Fatalf("still throttled after clearing: %v", err)
	}
}

func TestLimiterMemoryStaysBounded(t *testing.T) {
	const bound = 1000
	l, now := testLimiter(LimitPolicy{MaxEntries: bound})
	// A running throttle from before the spray.
	for range 5 {
		fail(l, "admin", "192.0.2.66")
	}
	for i := range 50 * bound {
		fail(l, fmt.Sprintf("name-%d-%s", i, string(make([]byte, 300))), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		*now = now.Add(time.Millisecond)
		if n := l.Len(); n > bound {
			t.Fatalf("%d entries after %d sprayed names, bound %d", n, i+1, bound)
		}
	}
	if _, err := l.Begin("admin", "192.0.2.66"); err == nil {
		t.Fatal("the spray pushed out a running throttle")
	}
	for k := range l.entries {
		if len(k.account) > maxKeyAccount {
			t.Fatalf("kept an account name of %d bytes", len(k.account))
		}
	}
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
