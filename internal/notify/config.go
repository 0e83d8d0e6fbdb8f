package notify

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Config is the notifier's part of the configuration file (key notify:).
type Config struct {
	// Enabled runs the notifier in vigil serve.
	Enabled bool `yaml:"enabled"`
	// Interval is how often the notifier looks for pending events.
	Interval time.Duration `yaml:"interval"`
	// Window is how long an observation told to an organisation is not
	// told again; sightings within it are counted and reported as "seen
	// again" in the next digest.
	Window time.Duration `yaml:"window"`
	// From is the sender of notifications, e.g. "Example CERT
	// <cert@example.org>"; its display name signs the messages and names
	// the reporter in X-ARF reports.
	From string `yaml:"from"`
	// MaxEventsPerMessage splits a larger message into numbered parts.
	MaxEventsPerMessage int `yaml:"max_events_per_message"`
	// MaxAttachmentBytes splits a message whose attachments (after
	// compression) would be larger.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
	// GzipAboveBytes compresses a CSV or JSON attachment larger than this;
	// 0 never compresses.
	GzipAboveBytes int64 `yaml:"gzip_above_bytes"`
	// TableRows is how many events of each kind the text lists; all of
	// them are in the attachment.
	TableRows int `yaml:"table_rows"`
	// DigestTime is the time of day ("HH:MM") daily digests are due, in
	// TimeZone; hourly digests are due at every full hour.
	DigestTime string `yaml:"digest_time"`
	// TimeZone is an IANA zone name such as Europe/Brussels.
	TimeZone string `yaml:"time_zone"`
	// PortalURL is the constituent portal, linked from every message;
	// empty leaves the link out.
	PortalURL string `yaml:"portal_url"`
	// Workers is how many organisations are rendered and signed at once
	// (default: the number of CPUs).
	Workers int `yaml:"workers"`
}

// DefaultConfig returns the defaults: disabled, a look every minute, a
// seven-day window, daily digests at 06:00 UTC, at most 50,000 events or
// 10 MiB of attachments a message (mail servers commonly refuse messages
// over 10 to 25 MB, and base64 adds a third), attachments over 1 MiB
// gzipped.
func DefaultConfig() Config {
	return Config{
		Interval:            time.Minute,
		Window:              7 * 24 * time.Hour,
		MaxEventsPerMessage: 50000,
		MaxAttachmentBytes:  10 << 20,
		GzipAboveBytes:      1 << 20,
		TableRows:           10,
		DigestTime:          "06:00",
		TimeZone:            "UTC",
	}
}

// FieldError is a problem with one field of a configuration or a policy.
// Field is the YAML key relative to notify: (for a Config) or the policy
// field's name in lower case, so that a form can mark it.
type FieldError struct {
	Field string
	// Message is the problem by catalogue ID, for the console and the
	// command line to translate; Error says it in English.
	Message i18n.Message
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message.String() }

// Validate checks every field and returns the first problem as a
// *FieldError. The sender address is only required when Enabled.
func (c *Config) Validate() error {
	if c.Interval < time.Second {
		return &FieldError{Field: "interval", Message: i18n.M("config.error.duration.atleast", "1s", c.Interval.String())}
	}
	if c.Window < time.Minute {
		return &FieldError{Field: "window", Message: i18n.M("config.error.duration.atleast", "1m", c.Window.String())}
	}
	if c.From == "" {
		if c.Enabled {
			return &FieldError{Field: "from", Message: i18n.M("config.error.notify.from")}
		}
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		return &FieldError{Field: "from", Message: i18n.M("config.error.address", c.From)}
	}
	if c.MaxEventsPerMessage < 1 || c.MaxEventsPerMessage > 1_000_000 {
		return &FieldError{Field: "max_events_per_message", Message: i18n.M("config.error.range", 1, 1_000_000, c.MaxEventsPerMessage)}
	}
	if c.MaxAttachmentBytes < 64<<10 {
		return &FieldError{Field: "max_attachment_bytes", Message: i18n.M("config.error.atleast", 64<<10, c.MaxAttachmentBytes)}
	}
	if c.GzipAboveBytes < 0 {
		return &FieldError{Field: "gzip_above_bytes", Message: i18n.M("config.error.notify.gzip", c.GzipAboveBytes)}
	}
	if c.TableRows < 0 || c.TableRows > 1000 {
		return &FieldError{Field: "table_rows", Message: i18n.M("config.error.range", 0, 1000, c.TableRows)}
	}
	if _, err := parseTimeOfDay(c.DigestTime); err != nil {
		return &FieldError{Field: "digest_time", Message: i18n.M("config.error.time", c.DigestTime)}
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" {
		return &FieldError{Field: "time_zone", Message: i18n.M("config.error.timezone", c.TimeZone)}
	}
	if c.PortalURL != "" {
		u, err := url.Parse(c.PortalURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return &FieldError{Field: "portal_url", Message: i18n.M("config.error.httpurl", c.PortalURL)}
		}
	}
	if c.Workers < 0 || c.Workers > 256 {
		return &FieldError{Field: "workers", Message: i18n.M("config.error.notify.workers", c.Workers)}
	}
	return nil
}

// parseTimeOfDay reads "HH:MM" as a duration after midnight.
func parseTimeOfDay(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// team is who signs the messages, taken from Config.From.
type team struct {
	Name  string // display name, or the domain when there is none
	Email string
}

func teamOf(from string) team {
	if from == "" {
		// Only previews render without a sender (Validate requires one
		// when notifications are on); show them a recognisable stand-in.
		return team{Name: "Your CERT", Email: "cert@example.org"}
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return team{Name: from, Email: from}
	}
	name := a.Name
	if name == "" {
		_, name, _ = strings.Cut(a.Address, "@")
	}
	return team{Name: name, Email: a.Address}
}
