package newsletter

import (
	"errors"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Config is the newsletter section of the configuration file.
type Config struct {
	// Enabled serves the subscription pages and sends the newsletter.
	Enabled bool `yaml:"enabled"`
	// From is the newsletter's sender, "Name <address>".
	From string `yaml:"from"`
	// Languages are the languages a subscriber may choose, the first the
	// default (default en, nl, fr, de).
	Languages []string `yaml:"languages"`
	// PublicURL is where readers reach the subscription pages, for the
	// links in the mails; empty: the site's address (site.base_url).
	PublicURL string `yaml:"public_url"`
	// PublicationURL is the link to a publication on the website, with
	// {lang} and {ident} replaced; empty: Vigil's own site's page.
	PublicationURL string `yaml:"publication_url"`
	// ConfirmEvery is the least time between two confirmation mails to
	// one address (default 1h); ConfirmValid how long a confirmation
	// link works (default 7 days).
	ConfirmEvery time.Duration `yaml:"confirm_every"`
	ConfirmValid time.Duration `yaml:"confirm_valid"`
	// Poll is how often the mailer looks for queued mails (default 5s).
	Poll time.Duration `yaml:"poll"`
	// Digest is the weekly digest's schedule.
	Digest DigestConfig `yaml:"digest"`
}

// DigestConfig is when the weekly digest is made, and whether it is
// published without review.
type DigestConfig struct {
	// Enabled makes the digest every week.
	Enabled bool `yaml:"enabled"`
	// Weekday (monday … sunday, default monday) and Time ("09:00") in
	// Timezone (an IANA name, default UTC).
	Weekday  string `yaml:"weekday"`
	Time     string `yaml:"time"`
	Timezone string `yaml:"timezone"`
	// AutoPublish publishes the digest at once; otherwise it is left as
	// a draft for the team to review.
	AutoPublish bool `yaml:"auto_publish"`
}

// DefaultConfig returns the defaults (disabled).
func DefaultConfig() Config {
	return Config{
		Languages:    slices.Clone(i18n.Codes),
		ConfirmEvery: time.Hour,
		ConfirmValid: 7 * 24 * time.Hour,
		Poll:         5 * time.Second,
		Digest:       DigestConfig{Weekday: "monday", Time: "09:00", Timezone: "UTC"},
	}
}

// ConfigError is a problem with one key of the newsletter section, by
// catalogue ID (Message) for the reader's language; Error says it in
// English.
type ConfigError struct {
	Key     string // "newsletter.from"
	Message i18n.Message
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Message.String() }

// Validate checks the section; a disabled newsletter is not checked. Its
// languages are those Vigil speaks (i18n.Codes), each once.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	bad := func(key string, m i18n.Message) error {
		return &ConfigError{Key: "newsletter." + key, Message: m}
	}
	if a, err := mail.ParseAddress(c.From); c.From == "" || err != nil || a.Address == "" {
		return bad("from", i18n.M("config.error.newsletter.from", c.From))
	}
	if len(c.Languages) == 0 {
		return bad("languages", i18n.M("config.error.newsletter.nolanguage"))
	}
	for i, l := range c.Languages {
		if !slices.Contains(i18n.Codes, l) || slices.Contains(c.Languages[:i], l) {
			return bad("languages", i18n.M("config.error.newsletter.language", l))
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return bad("public_url", i18n.M("config.error.httpurl", c.PublicURL))
		}
	}
	if c.PublicationURL != "" && !strings.Contains(c.PublicationURL, "{ident}") {
		return bad("publication_url", i18n.M("config.error.newsletter.publicationurl", c.PublicationURL))
	}
	if c.ConfirmEvery < 0 || c.ConfirmValid <= 0 || c.Poll <= 0 {
		return bad("confirm_valid", i18n.M("config.error.newsletter.durations"))
	}
	// The schedule is checked even when the weekly digest is off: the
	// team's "make the digest now" uses it too, so `vigil serve` reads
	// it whenever the newsletter is on.
	if _, err := c.Digest.Schedule(); err != nil {
		var se *scheduleError
		if errors.As(err, &se) {
			return bad("digest."+se.field, se.message)
		}
		return bad("digest", i18n.M("config.error.section", err.Error()))
	}
	return nil
}

// scheduleError is a problem with one field of the digest's schedule
// ("weekday", "time" or "timezone").
type scheduleError struct {
	field   string
	message i18n.Message
}

func (e *scheduleError) Error() string { return e.field + ": " + e.message.String() }

// Schedule is the digest's weekly moment, parsed.
type Schedule struct {
	Weekday      time.Weekday
	Hour, Minute int
	Location     *time.Location
}

// Schedule parses the weekday, time and timezone.
func (d DigestConfig) Schedule() (Schedule, error) {
	var s Schedule
	day := strings.ToLower(strings.TrimSpace(d.Weekday))
	if day == "" {
		day = "monday"
	}
	found := false
	for w := time.Sunday; w <= time.Saturday; w++ {
		if strings.ToLower(w.String()) == day {
			s.Weekday, found = w, true
		}
	}
	if !found {
		return s, &scheduleError{"weekday", i18n.M("config.error.weekday", d.Weekday)}
	}
	at := d.Time
	if at == "" {
		at = "09:00"
	}
	t, err := time.Parse("15:04", at)
	if err != nil {
		return s, &scheduleError{"time", i18n.M("config.error.time", d.Time)}
	}
	s.Hour, s.Minute = t.Hour(), t.Minute()
	zone := d.Timezone
	if zone == "" {
		zone = "UTC"
	}
	if s.Location, err = time.LoadLocation(zone); err != nil {
		return s, &scheduleError{"timezone", i18n.M("config.error.timezone", zone)}
	}
	return s, nil
}

// Last returns the latest scheduled moment at or before now.
func (s Schedule) Last(now time.Time) time.Time {
	local := now.In(s.Location)
	t := time.Date(local.Year(), local.Month(), local.Day(), s.Hour, s.Minute, 0, 0, s.Location)
	back := (int(local.Weekday()) - int(s.Weekday) + 7) % 7
	t = t.AddDate(0, 0, -back)
	if t.After(now) {
		t = t.AddDate(0, 0, -7)
	}
	return t
}
