package newsletter_test

import (
	"net/mail"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication/newsletter"
)

// FuzzParseAddress: whatever the form sends, an accepted address is one
// plain address, in lower case, within the bound, that net/mail reads
// back as itself.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"a@example.org", " A@B.C ", "Bob <b@example.org>", "a@b, c@d", "\"quoted\"@example.org", "x@y\r\nBcc: z@w", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := newsletter.ParseAddress(s)
		if err != nil {
			return
		}
		if len(a) > newsletter.MaxAddressBytes || a != strings.ToLower(a) || strings.ContainsAny(a, " \r\n<>,") {
			t.Fatalf("ParseAddress(%q) = %q", s, a)
		}
		if back, err := mail.ParseAddress(a); err != nil || back.Address != a {
			t.Fatalf("ParseAddress(%q) = %q, which net/mail reads as %v, %v", s, a, back, err)
		}
	})
}

// FuzzUnsubscribeToken: only the token made for an id is accepted, and
// it gives that id.
func FuzzUnsubscribeToken(f *testing.F) {
	secret := []byte("a secret of thirty-two bytes....")
	f.Add(newsletter.UnsubscribeToken(secret, 42))
	f.Add("0" + newsletter.UnsubscribeToken(secret, 42))
	f.Add("+" + newsletter.UnsubscribeToken(secret, 42))
	f.Add("42.")
	f.Add("-1.x")
	f.Fuzz(func(t *testing.T, token string) {
		id, err := newsletter.CheckUnsubscribeToken(secret, token)
		if err != nil {
			return
		}
		if newsletter.UnsubscribeToken(secret, id) != token {
			t.Fatalf("%q accepted for %d, whose token is %q", token, id, newsletter.UnsubscribeToken(secret, id))
		}
	})
}
