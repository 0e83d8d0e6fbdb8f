package auth

import (
	"strings"
	"testing"
	"time"
)

func TestTOTP(t *testing.T) {
	e, err := EnrolTOTP("Vigil", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URL, "otpauth://totp/Vigil:alice?") || !strings.Contains(e.URL, "secret="+e.Secret) {
		t.Fatalf("url %q", e.URL)
	}
	if !strings.HasPrefix(e.QRDataURL, "data:image/png;base64,") {
		t.Fatalf("qr %.40q", e.QRDataURL)
	}
	now := time.Date(2025, 3, 1, 12, 0, 15, 0, time.UTC)
	for name, tc := range map[string]struct {
		at   time.Time
		want bool
	}{
		"same step":     {now, true},
		"previous step": {now.Add(-30 * time.Second), true},
		"next step":     {now.Add(30 * time.Second), true},
		"two steps ago": {now.Add(-60 * time.Second), false},
		"two ahead":     {now.Add(61 * time.Second), false},
	} {
		t.Run(name, func(t *testing.T) {
			code, err := TOTPCode(e.Secret, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := VerifyTOTP(e.Secret, code, now); got != tc.want {
				t.Fatalf("VerifyTOTP = %v, want %v", got, tc.want)
			}
		})
	}
	if VerifyTOTP(e.Secret, "", now) || VerifyTOTP("", "123456", now) || VerifyTOTP(e.Secret, "12345", now) {
		t.Fatal("empty or malformed input accepted")
	}
}
