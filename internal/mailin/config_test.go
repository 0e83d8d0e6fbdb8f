package mailin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/mailin"
)

// TestConfigErrors: each bad setting names its key, says why in English,
// and has a message in every language of the catalogue, translated (not
// the English copied) and formatted without a stray verb.
func TestConfigErrors(t *testing.T) {
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key    string
		change func(c *mailin.Config)
	}{
		{"mail_in.listen", func(c *mailin.Config) { c.Listen = "25" }},
		{"mail_in.hostname", func(c *mailin.Config) { c.Hostname = "mx cert" }},
		{"mail_in.cert_file", func(c *mailin.Config) { c.CertFile = "cert.pem" }},
		{"mail_in.cert_file", func(c *mailin.Config) { c.CertFile, c.KeyFile = "missing.pem", "missing-key.pem" }},
		{"mail_in.recipients", func(c *mailin.Config) { c.Recipients = nil }},
		{"mail_in.recipients[1]", func(c *mailin.Config) { c.Recipients = append(c.Recipients, "@cert.example") }},
		{"mail_in.max_message_bytes", func(c *mailin.Config) { c.MaxMessageBytes = 10 }},
		{"mail_in.max_sessions", func(c *mailin.Config) { c.MaxSessions = 0 }},
		{"mail_in.read_timeout", func(c *mailin.Config) { c.ReadTimeout = time.Millisecond }},
		{"mail_in.retention", func(c *mailin.Config) { c.Retention = time.Minute }},
		{"mail_in.imap.address", func(c *mailin.Config) { c.IMAP = imapConfig(); c.IMAP.Address = "imap.cert.example" }},
		{"mail_in.imap.tls", func(c *mailin.Config) { c.IMAP = imapConfig(); c.IMAP.TLS = "none" }},
		{"mail_in.imap.tls", func(c *mailin.Config) { c.IMAP = imapConfig(); c.IMAP.TLS = "ssl3" }},
		{"mail_in.imap.username", func(c *mailin.Config) { c.IMAP = imapConfig(); c.IMAP.Password = "" }},
		{"mail_in.imap.mailbox", func(c *mailin.Config) { c.IMAP = imapConfig(); c.IMAP.Mailbox = "" }},
		{"mail_in.imap.interval", func(c *mailin.Config) { c.IMAP = imapConfig(); c.IMAP.Interval = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			cfg := mailin.DefaultConfig()
			cfg.Listen, cfg.Recipients = ":2525", []string{"report@"}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the base config is refused: %v", err)
			}
			tt.change(&cfg)
			var ce *mailin.ConfigError
			if err := cfg.Validate(); !errors.As(err, &ce) || ce.Key != tt.key {
				t.Fatalf("Validate = %v, want a ConfigError at %s", err, tt.key)
			}
			english := ce.Message.In(catalog, "en")
			for _, lang := range []string{"en", "nl", "fr", "de"} {
				if !hasID(catalog, lang, ce.Message.ID) {
					t.Errorf("%s has no %s", lang, ce.Message.ID)
				}
				text := ce.Message.In(catalog, lang)
				if strings.Contains(text, "%!") {
					t.Errorf("%s: %q", lang, text)
				}
				if lang != "en" && text == english {
					t.Errorf("%s: %q is the English text", lang, text)
				}
			}
		})
	}
}

func hasID(c *i18n.Catalog, lang, id string) bool {
	for _, x := range c.IDs(lang) {
		if x == id {
			return true
		}
	}
	return false
}

// imapConfig is a valid mailbox on a remote server.
func imapConfig() mailin.IMAPConfig {
	c := mailin.DefaultConfig().IMAP
	c.Address, c.Username, c.Password = "imap.cert.example:993", "reports", "secret"
	return c
}

// TestConfigIMAPOnly: a mailbox alone, without a listener, is a valid
// section; none is allowed to a loopback server.
func TestConfigIMAPOnly(t *testing.T) {
	cfg := mailin.DefaultConfig()
	cfg.IMAP = imapConfig()
	if !cfg.Enabled() {
		t.Fatal("a section with a mailbox is not Enabled")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	cfg.IMAP.Address, cfg.IMAP.TLS = "127.0.0.1:1143", "none"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("none to the loopback interface: %v", err)
	}
}
