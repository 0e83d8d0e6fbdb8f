package newsletter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/publication/newsletter"
)

func TestConfigValidate(t *testing.T) {
	good := newsletter.DefaultConfig()
	good.Enabled, good.From = true, "CERT <news@cert.example>"
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name, key string
		change    func(*newsletter.Config)
	}{
		{"no sender", "newsletter.from", func(c *newsletter.Config) { c.From = "" }},
		{"unknown language", "newsletter.languages", func(c *newsletter.Config) { c.Languages = []string{"en", "xx"} }},
		{"language twice", "newsletter.languages", func(c *newsletter.Config) { c.Languages = []string{"en", "en"} }},
		{"bad public URL", "newsletter.public_url", func(c *newsletter.Config) { c.PublicURL = "ftp://x" }},
		{"publication URL without ident", "newsletter.publication_url", func(c *newsletter.Config) { c.PublicationURL = "https://x/{lang}" }},
		{"bad weekday", "newsletter.digest.weekday", func(c *newsletter.Config) { c.Digest.Enabled, c.Digest.Weekday = true, "someday" }},
		{"bad time", "newsletter.digest.time", func(c *newsletter.Config) { c.Digest.Enabled, c.Digest.Time = true, "25:00" }},
		{"bad zone", "newsletter.digest.timezone", func(c *newsletter.Config) { c.Digest.Enabled, c.Digest.Timezone = true, "Mars/Olympus" }},
		// The weekly digest off, its schedule is still read (`vigil
		// serve` makes the digest on the team's demand with it), so a
		// bad one is refused naming its key rather than stopping serve.
		{"bad weekday, digest off", "newsletter.digest.weekday", func(c *newsletter.Config) { c.Digest.Weekday = "someday" }},
		{"bad time, digest off", "newsletter.digest.time", func(c *newsletter.Config) { c.Digest.Time = "9h" }},
		{"bad zone, digest off", "newsletter.digest.timezone", func(c *newsletter.Config) { c.Digest.Timezone = "Mars/Olympus" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
				t.Errorf("Validate = %v, want a problem with %s", err, tc.key)
			}
		})
	}
	off := newsletter.Config{}
	if err := off.Validate(); err != nil {
		t.Errorf("a disabled newsletter is not checked, got %v", err)
	}
	off.Digest.Timezone = "Mars/Olympus"
	if err := off.Validate(); err != nil {
		t.Errorf("a disabled newsletter's schedule is not checked, got %v", err)
	}
	empty := good
	empty.Digest = newsletter.DigestConfig{}
	if err := empty.Validate(); err != nil {
		t.Errorf("an empty schedule (its defaults) is good, got %v", err)
	}
}

func TestScheduleLast(t *testing.T) {
	s, err := newsletter.DigestConfig{Weekday: "Monday", Time: "09:00", Timezone: "Europe/Brussels"}.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	brussels := s.Location
	for _, tc := range []struct{ now, want time.Time }{
		// Thursday: the Monday before.
		{time.Date(2026, 12, 3, 12, 0, 0, 0, brussels), time.Date(2026, 11, 30, 9, 0, 0, 0, brussels)},
		// Monday 08:59: the Monday a week before.
		{time.Date(2026, 11, 30, 8, 59, 0, 0, brussels), time.Date(2026, 11, 23, 9, 0, 0, 0, brussels)},
		// Monday 09:00 exactly: now.
		{time.Date(2026, 11, 30, 9, 0, 0, 0, brussels), time.Date(2026, 11, 30, 9, 0, 0, 0, brussels)},
		// Across the change to summer time (29 March 2026).
		{time.Date(2026, 3, 31, 10, 0, 0, 0, brussels), time.Date(2026, 3, 30, 9, 0, 0, 0, brussels)},
	} {
		if got := s.Last(tc.now.UTC()); !got.Equal(tc.want) {
			t.Errorf("Last(%v) = %v, want %v", tc.now, got, tc.want)
		}
	}
}
