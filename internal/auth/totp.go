package auth

import (
	"bytes"
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

// VerifyTOTP checks a six-digit code at now, accepting the previous and the
// next 30-second step for clock drift.
func VerifyTOTP(secret, code string, now time.Time) bool {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if secret == "" || len(code) != 6 {
		return false
	}
	ok, err := totp.ValidateCustom(code, secret, now, totp.ValidateOpts{
		Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	return err == nil && ok
}

// TOTPCode returns the code for secret at t; tests and tools use it.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCode(secret, t)
}
