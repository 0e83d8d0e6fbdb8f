package i18n

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Plural forms a message may have, as suffixes of its ID. English,
// Dutch, French and German need only these two; CLDR's rules (through
// golang.org/x/text/feature/plural) say which one a count takes in each
// language, so French says "0 tentative" and English "0 attempts".
const (
	pluralOne   = ".one"
	pluralOther = ".other"
)

// Plural returns the form of message id that count takes in lang,
// formatted with the count (grouped as lang groups digits) as its first
// argument and args after it. The catalogue holds id.one and id.other;
// in them the count is the first verb, %s. A form that names no argument is returned as it is, for texts
// printed beside a count shown on its own.
func (c *Catalog) Plural(lang, id string, count int, args ...any) string {
	form := pluralOther
	if plural.Cardinal.MatchPlural(c.tag(lang), abs(count), 0, 0, 0, 0) == plural.One {
		form = pluralOne
	}
	s := c.Text(lang, id+form)
	if !strings.Contains(s, "%") {
		return s
	}
	return fmt.Sprintf(s, append([]any{c.Number(lang, count)}, args...)...)
}

// Number writes n with lang's digit grouping: 12,345 in English,
// 12.345 in Dutch and German, 12 345 in French.
func (c *Catalog) Number(lang string, n int) string {
	return message.NewPrinter(c.tag(lang)).Sprintf("%d", n)
}

// Time writes t in UTC with lang's layout for a date and a time
// (message format.datetime, a Go time layout). Vigil shows every time
// in UTC, whatever the reader's zone; the column headers and labels
// say so. The zero time is written as a dash.
func (c *Catalog) Time(lang string, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(c.Text(lang, "format.datetime"))
}

// Date writes the day of t in UTC with lang's layout (format.date).
func (c *Catalog) Date(lang string, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(c.Text(lang, "format.date"))
}

// Duration writes a lag or an age compactly, in lang's units: 45 s,
// 12 min, 3 h 20 min, 4 d 6 h in English. Negative durations are zero.
func (c *Catalog) Duration(lang string, d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return c.T(lang, "duration.seconds", int(d/time.Second))
	case d < time.Hour:
		return c.T(lang, "duration.minutes", int(d/time.Minute))
	case d < 48*time.Hour:
		return c.T(lang, "duration.hours", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return c.T(lang, "duration.days", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// tag returns the language tag of a catalogue code, English for one
// that is not a catalogue language.
func (c *Catalog) tag(lang string) language.Tag {
	if t, ok := c.tags[lang]; ok {
		return t
	}
	return language.English
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// sharedWords are the words a translation may keep from the English,
// because the language uses them too: loanwords and cognates spelled
// alike, the names of products, protocols and formats, the words of gpg's
// command line (--export-secret-keys), the format JSON Lines, and the example values (example.be, AS64496, PGP armour)
// shown as placeholders.
var sharedWords = map[string]string{
	"": "as asn be begin block cert code db example key min org pgp private public tlp univ url " +
		"vigil utc cidr csv json http lines api totp openpgp gnupg gpg armor export secret keys ctrl mac malware hash token tokens sha observables pap cpe purl cve",
	"nl": "product abuse account accounts mail export extra factor feed feeds later letters open parameter sector status team test impact incident triage",
	"fr": "version abuse action actions audit classification contacts destination format message notes notification notifications " +
		"organisation organisations page port position second secret source taxonomies test type types impact incident incidents note",
	"de": "version audit domain domains feed feeds format mail name organisation parser passphrase portal port position problem status subdomains team test",
}

// SharedWithEnglish returns the lower-case words lang writes as English
// does, for the tests that look for English left untranslated: a
// translation identical to the English is made of these words only, and
// a page in lang may show them.
func SharedWithEnglish(lang string) []string {
	return append(strings.Fields(sharedWords[""]), strings.Fields(sharedWords[lang])...)
}
