package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// RecoveryCodeCount is how many recovery codes a person gets at once.
const RecoveryCodeCount = 10

// recoveryAlphabet is lower-case base32 without padding: no 0/o or 1/l
// to confuse on paper.
const recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// recoveryCodeLength is 16 characters of 5 bits: 80 random bits, so a
// stolen table of SHA-256 hashes cannot be reversed by trying codes, and
// no slow password hash is needed.
const recoveryCodeLength = 16

// NewRecoveryCodes returns RecoveryCodeCount fresh codes for the user,
// formatted for a person (xxxx-xxxx-xxxx-xxxx), and their hashes for the
// store. The codes are shown once and never stored.
func NewRecoveryCodes(userID int64) (codes []string, hashes [][]byte, err error) {
	for range RecoveryCodeCount {
		raw := make([]byte, recoveryCodeLength)
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, fmt.Errorf("recovery code: %w", err)
		}
		var b strings.Builder
		for i, c := range raw {
			if i > 0 && i%4 == 0 {
				b.WriteByte('-')
			}
			// 256 is a multiple of 32: the modulo is unbiased.
			b.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)])
		}
		code := b.String()
		codes = append(codes, code)
		hashes = append(hashes, HashRecoveryCode(userID, code))
	}
	return codes, hashes, nil
}

// normaliseRecoveryCode drops the dashes and spaces a person may type or
// leave out and ignores case.
func normaliseRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '\t':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
}

// looksLikeRecoveryCode tells a recovery code from a six-digit TOTP code.
func looksLikeRecoveryCode(code string) bool {
	return len(normaliseRecoveryCode(code)) == recoveryCodeLength
}

// HashRecoveryCode is what the store keeps of a recovery code. The user id
// is part of the hash, so a hash copied to another account matches
// nothing.
func HashRecoveryCode(userID int64, code string) []byte {
	h := sha256.New()
	h.Write([]byte("vigil recovery code\x00"))
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], uint64(userID))
	h.Write(id[:])
	h.Write([]byte(normaliseRecoveryCode(code)))
	return h.Sum(nil)
}

// SecondFactorMethod says how a person proved the second factor.
type SecondFactorMethod string

// The ways to prove a second factor.
const (
	MethodTOTP         SecondFactorMethod = "totp"
	MethodRecoveryCode SecondFactorMethod = "recovery code"
)

// ProveSecondFactor checks code for u: a recovery code (by its form) is
// spent when it matches one of u's unused codes; a TOTP code is accepted
// when it is right at now and its time step is later than the last one u
// used, so every code works once, in this process or any other on the
// same database. ok is false for a wrong, replayed or spent code.
func ProveSecondFactor(ctx context.Context, st SecondFactorStore, u User, code string, now time.Time) (SecondFactorMethod, bool, error) {
	if u.TOTPSecret == "" {
		return "", false, nil
	}
	if looksLikeRecoveryCode(code) {
		ok, err := st.UseRecoveryCode(ctx, u.ID, HashRecoveryCode(u.ID, code))
		if err != nil {
			return "", false, fmt.Errorf("second factor of %s: %w", u.Name, err)
		}
		return MethodRecoveryCode, ok, nil
	}
	step, ok := VerifyTOTPStep(u.TOTPSecret, code, now)
	if !ok {
		return MethodTOTP, false, nil
	}
	fresh, err := st.ClaimTOTPStep(ctx, u.ID, step)
	if err != nil {
		return "", false, fmt.Errorf("second factor of %s: %w", u.Name, err)
	}
	return MethodTOTP, fresh, nil
}
