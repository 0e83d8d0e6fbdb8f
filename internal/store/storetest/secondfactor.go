package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
)

// testSecondFactors: a TOTP step is accepted once and only moving
// forward, also under concurrent claims; recovery codes are per user and
// spent once; replacing them drops the old ones.
func testSecondFactors(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := &store.User{Name: "alice", Role: store.RoleAnalyst, TOTPSecret: "JBSWY3DPEHPK3PXP"}
	bob := &store.User{Name: "bob", Role: store.RoleAnalyst}
	for _, u := range []*store.User{alice, bob} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Name, err)
		}
	}

	t.Run("totp step once and forward", func(t *testing.T) {
		for _, c := range []struct {
			step int64
			want bool
		}{{100, true}, {100, false}, {99, false}, {101, true}, {50, false}} {
			got, err := s.ClaimTOTPStep(ctx, alice.ID, c.step)
			if err != nil {
				t.Fatalf("ClaimTOTPStep(%d): %v", c.step, err)
			}
			if got != c.want {
				t.Errorf("ClaimTOTPStep(%d) = %v, want %v", c.step, got, c.want)
			}
		}
		// Another user's steps are their own.
		if got, err := s.ClaimTOTPStep(ctx, bob.ID, 100); err != nil || !got {
			t.Errorf("ClaimTOTPStep(bob, 100) = %v, %v; want true", got, err)
		}
		if got, err := s.ClaimTOTPStep(ctx, 999999, 100); err != nil || got {
			t.Errorf("ClaimTOTPStep(unknown user) = %v, %v; want false", got, err)
		}
	})

	t.Run("concurrent claims of one step have one winner", func(t *testing.T) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				ok, err := s.ClaimTOTPStep(ctx, alice.ID, 500)
				if err != nil {
					t.Errorf("ClaimTOTPStep: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d claims of one step succeeded, want 1", wins.Load())
		}
	})

	t.Run("user update keeps the last step", func(t *testing.T) {
		u, err := s.GetUser(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		u.Email = "alice@cert.example"
		if err := s.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ClaimTOTPStep(ctx, alice.ID, 500); err != nil || got {
			t.Errorf("ClaimTOTPStep(500) after UpdateUser = %v, %v; want false", got, err)
		}
	})

	t.Run("recovery codes", func(t *testing.T) {
		codes := [][]byte{[]byte("hash-1"), []byte("hash-2"), []byte("hash-3")}
		if err := s.ReplaceRecoveryCodes(ctx, alice.ID, codes); err != nil {
			t.Fatalf("ReplaceRecoveryCodes: %v", err)
		}
		if n, err := s.CountRecoveryCodes(ctx, alice.ID); err != nil || n != 3 {
			t.Errorf("CountRecoveryCodes = %d, %v; want 3", n, err)
		}
		if ok, err := s.UseRecoveryCode(ctx, bob.ID, []byte("hash-1")); err != nil || ok {
			t.Errorf("UseRecoveryCode(bob, alice's code) = %v, %v; want false", ok, err)
		}
		if ok, err := s.UseRecoveryCode(ctx, alice.ID, []byte("hash-1")); err != nil || !ok {
			t.Errorf("UseRecoveryCode(first use) = %v, %v; want true", ok, err)
		}
		if ok, err := s.UseRecoveryCode(ctx, alice.ID, []byte("hash-1")); err != nil || ok {
			t.Errorf("UseRecoveryCode(second use) = %v, %v; want false", ok, err)
		}
		if n, err := s.CountRecoveryCodes(ctx, alice.ID); err != nil || n != 2 {
			t.Errorf("CountRecoveryCodes after one use = %d, %v; want 2", n, err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, alice.ID, [][]byte{[]byte("hash-9")}); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.UseRecoveryCode(ctx, alice.ID, []byte("hash-2")); err != nil || ok {
			t.Errorf("UseRecoveryCode(replaced code) = %v, %v; want false", ok, err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, alice.ID, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountRecoveryCodes(ctx, alice.ID); err != nil || n != 0 {
			t.Errorf("CountRecoveryCodes after removing all = %d, %v; want 0", n, err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, 999999, codes); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReplaceRecoveryCodes(unknown user) = %v, want ErrNotFound", err)
		}
	})
}
