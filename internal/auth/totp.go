package auth

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTPEnrolment is a freshly generated second factor, not yet confirmed.
type TOTPEnrolment struct {
	Secret string // base32, what the authenticator app stores
	URL    string // otpauth:// URL, the QR code's content
	// QRDataURL is a PNG of the QR code as a data: URL, for an <img>.
	QRDataURL string
}

// EnrolTOTP generates a secret for account. The caller stores Secret on
// the user only once the user proves with a code that the app has it.
func EnrolTOTP(issuer, account string) (TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp generate: %w", err)
	}
	e := TOTPEnrolment{Secret: key.Secret(), URL: key.URL()}
	if img, err := key.Image(200, 200); err == nil {
		var buf bytes.Buffer
		if png.Encode(&buf, img) == nil {
			e.QRDataURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	}
	return e, nil
}

// totpPeriod is the length of one TOTP time step.
const totpPeriod = 30

// VerifyTOTP checks a six-digit code at now, accepting the previous and the
// next 30-second step for clock drift. It does not know which codes were
// used before: a login goes through ProveSecondFactor, which does.
func VerifyTOTP(secret, code string, now time.Time) bool {
	_, ok := VerifyTOTPStep(secret, code, now)
	return ok
}

// VerifyTOTPStep checks a six-digit code like VerifyTOTP and returns the
// time step (Unix time / 30 s) whose code it is, so that the caller can
// accept each step once.
func VerifyTOTPStep(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if secret == "" || len(code) != 6 {
		return 0, false
	}
	current := now.Unix() / totpPeriod
	// Every window step is computed, not stopping at the first match, so
	// the time taken does not tell which one matched.
	for _, s := range []int64{current - 1, current, current + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// TOTPCode returns the code for secret at t; tests and tools use it.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCode(secret, t)
}
