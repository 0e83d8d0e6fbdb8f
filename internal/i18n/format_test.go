package i18n

import (
	"strings"
	"testing"
	"time"
)

func TestPlural(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang  string
		count int
		want  string
	}{
		{"en", 1, "1 attempt"},
		{"en", 0, "0 attempts"},
		{"en", 2, "2 attempts"},
		{"en", 1234, "1,234 attempts"},
		{"nl", 1, "1 poging"},
		{"nl", 3, "3 pogingen"},
		{"nl", 1234, "1.234 pogingen"},
		// French counts 0 as singular.
		{"fr", 0, "0 tentative"},
		{"fr", 1, "1 tentative"},
		{"fr", 2, "2 tentatives"},
		{"de", 1, "1 Versuch"},
		{"de", 5, "5 Versuche"},
		{"de", 12345, "12.345 Versuche"},
	} {
		if got := c.Plural(tc.lang, "notifications.attempts", tc.count); got != tc.want {
			t.Errorf("Plural(%s, %d) = %q, want %q", tc.lang, tc.count, got, tc.want)
		}
	}
	// A form without a verb is returned as it is, for a count shown apart.
	if got := c.Plural("nl", "home.events", 1); got != "opgeslagen gebeurtenis" {
		t.Errorf("home.events one = %q", got)
	}
}

// TestPluralForms keeps every counted message whole: a message with a
// .one form has an .other form, and the reverse, in every language.
func TestPluralForms(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range c.Languages() {
		ids := map[string]bool{}
		for _, id := range c.IDs(l.Code) {
			ids[id] = true
		}
		for id := range ids {
			if base, ok := strings.CutSuffix(id, pluralOne); ok && !ids[base+pluralOther] {
				t.Errorf("%s: %s has no %s form", l.Code, base, pluralOther)
			}
			if base, ok := strings.CutSuffix(id, pluralOther); ok {
				n++
				if !ids[base+pluralOne] {
					t.Errorf("%s: %s has no %s form", l.Code, base, pluralOne)
				}
				if ids[base] {
					t.Errorf("%s: %s is both counted and not", l.Code, base)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no counted message")
	}
}

func TestNumberTimeDuration(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	moment := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		lang, number, time, date, duration string
	}{
		{"en", "1,234,567", "2026-03-04 04:06:07", "2026-03-04", "3 h 20 min"},
		{"nl", "1.234.567", "04-03-2026 04:06:07", "04-03-2026", "3 u 20 min"},
		{"fr", "1\u00a0234\u00a0567", "04/03/2026 04:06:07", "04/03/2026", "3 h 20 min"},
		{"de", "1.234.567", "04.03.2026 04:06:07", "04.03.2026", "3 Std. 20 Min."},
	} {
		if got := c.Number(tc.lang, 1234567); got != tc.number {
			t.Errorf("Number(%s) = %q, want %q", tc.lang, got, tc.number)
		}
		if got := c.Time(tc.lang, moment); got != tc.time {
			t.Errorf("Time(%s) = %q, want %q (in UTC)", tc.lang, got, tc.time)
		}
		if got := c.Date(tc.lang, moment); got != tc.date {
			t.Errorf("Date(%s) = %q, want %q", tc.lang, got, tc.date)
		}
		if got := c.Duration(tc.lang, 3*time.Hour+20*time.Minute+5*time.Second); got != tc.duration {
			t.Errorf("Duration(%s) = %q, want %q", tc.lang, got, tc.duration)
		}
	}
	if got := c.Time("nl", time.Time{}); got != "—" {
		t.Errorf("zero time = %q", got)
	}
	for d, want := range map[time.Duration]string{
		-time.Second: "0 s", 45 * time.Second: "45 s", 12 * time.Minute: "12 min",
		50 * time.Hour: "2 d 2 h",
	} {
		if got := c.Duration("en", d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := c.Duration("fr", 50*time.Hour); got != "2 j 2 h" {
		t.Errorf("fr days = %q", got)
	}
}
