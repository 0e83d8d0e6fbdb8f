package auth_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
)

// withTOTP gives u a second factor and returns it as stored.
func withTOTP(t *testing.T, st *database.DB, u auth.User) auth.User {
	t.Helper()
	e, err := auth.EnrolTOTP("Vigil", u.Name)
	if err != nil {
		t.Fatal(err)
	}
	u.TOTPSecret = e.Secret
	if err := st.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSecondFactorCodeWorksOnce(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	u := withTOTP(t, st, addUser(t, st, "ann"))
	now := time.Date(2025, 3, 1, 12, 0, 15, 0, time.UTC)
	l, err := auth.NewLogins(st, auth.NewLimiter(auth.LimitPolicy{PairFailures: 100, AddressFailures: 100}), nil)
	if err != nil {
		t.Fatal(err)
	}
	auth.SetLoginsNow(l, func() time.Time { return now })
	code, err := auth.TOTPCode(u.TOTPSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.CheckSecondFactor(ctx, "192.0.2.1", u, code); err != nil {
		t.Fatalf("first use of the code: %v", err)
	}
	t.Run("same code again in its window", func(t *testing.T) {
		if err := l.CheckSecondFactor(ctx, "192.0.2.1", u, code); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("replayed code: %v, want auth.ErrInvalidCredentials", err)
		}
	})
	t.Run("the previous step's code after the current one", func(t *testing.T) {
		old, _ := auth.TOTPCode(u.TOTPSecret, now.Add(-30*time.Second))
		if err := l.CheckSecondFactor(ctx, "192.0.2.1", u, old); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("older code: %v, want auth.ErrInvalidCredentials", err)
		}
	})
	t.Run("a replay from another process on the same database", func(t *testing.T) {
		other, err := auth.NewLogins(st, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		auth.SetLoginsNow(other, auth.LoginsNow(l))
		if err := other.CheckSecondFactor(ctx, "192.0.2.9", u, code); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("replayed code in another checker: %v, want auth.ErrInvalidCredentials", err)
		}
	})
	t.Run("the next step's code", func(t *testing.T) {
		now = now.Add(30 * time.Second)
		next, _ := auth.TOTPCode(u.TOTPSecret, now)
		if err := l.CheckSecondFactor(ctx, "192.0.2.1", u, next); err != nil {
			t.Fatalf("next code: %v", err)
		}
	})
}

func TestRecoveryCodeWorksOnce(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	u := withTOTP(t, st, addUser(t, st, "ann"))
	codes, hashes, err := auth.NewRecoveryCodes(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%d codes, want %d", len(codes), auth.RecoveryCodeCount)
	}
	form := regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$`)
	seen := map[string]bool{}
	for _, c := range codes {
		if !form.MatchString(c) || seen[c] {
			t.Fatalf("code %q malformed or repeated", c)
		}
		seen[c] = true
	}
	if err := st.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		t.Fatal(err)
	}
	l, err := auth.NewLogins(st, auth.NewLimiter(auth.LimitPolicy{PairFailures: 100, AddressFailures: 100}), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Typed in capitals without dashes, as people do from paper.
	typed := codes[3][0:4] + " " + codes[3][5:9] + codes[3][10:14] + codes[3][15:]
	if err := l.CheckSecondFactor(ctx, "192.0.2.1", u, typed); err != nil {
		t.Fatalf("first use of a recovery code: %v", err)
	}
	if err := l.CheckSecondFactor(ctx, "192.0.2.1", u, codes[3]); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("second use of a recovery code: %v, want auth.ErrInvalidCredentials", err)
	}
	if n, _ := st.CountRecoveryCodes(ctx, u.ID); n != auth.RecoveryCodeCount-1 {
		t.Errorf("%d codes left, want %d", n, auth.RecoveryCodeCount-1)
	}
	bob := withTOTP(t, st, addUser(t, st, "bob"))
	if err := l.CheckSecondFactor(ctx, "192.0.2.1", bob, codes[4]); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("ann's recovery code for bob: %v, want auth.ErrInvalidCredentials", err)
	}
	entries, err := st.ListAudit(ctx, auth.AuditQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Action == "user.recovery.use" && e.Target == "ann" {
			found = true
		}
	}
	if !found {
		t.Error("the use of a recovery code is not in the audit log")
	}
}

func TestReauthenticate(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	now := time.Date(2025, 3, 1, 12, 0, 15, 0, time.UTC)
	l, err := auth.NewLogins(st, auth.NewLimiter(auth.LimitPolicy{PairFailures: 100, AddressFailures: 100}), nil)
	if err != nil {
		t.Fatal(err)
	}
	auth.SetLoginsNow(l, func() time.Time { return now })
	plain := addUser(t, st, "carl")
	if err := l.Reauthenticate(ctx, "192.0.2.1", plain, "carl's long passphrase", ""); err != nil {
		t.Errorf("password without a second factor: %v", err)
	}
	if err := l.Reauthenticate(ctx, "192.0.2.1", plain, "wrong", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	u := withTOTP(t, st, addUser(t, st, "ann"))
	code, _ := auth.TOTPCode(u.TOTPSecret, now)
	if err := l.Reauthenticate(ctx, "192.0.2.1", u, "ann's long passphrase", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("password without the code: %v", err)
	}
	if err := l.Reauthenticate(ctx, "192.0.2.1", u, "wrong", code); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("code without the password: %v", err)
	}
	// The wrong password did not spend the code.
	if err := l.Reauthenticate(ctx, "192.0.2.1", u, "ann's long passphrase", code); err != nil {
		t.Errorf("password and code: %v", err)
	}
	if err := l.Reauthenticate(ctx, "192.0.2.1", u, "ann's long passphrase", code); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("password and a used code: %v", err)
	}
}
