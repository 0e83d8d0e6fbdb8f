package outbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-cert/vigil/internal/outbox"
)

func TestConfigYAML(t *testing.T) {
	raw := `
host: mail.example.org
tls: tls
username: vigil
password: s3cret
helo_name: vigil.example.org
timeout: 45s
from: bounces@cert.example.org
max_attempts: 4
backoff: 2m
max_backoff: 1h
`
	cfg := outbox.DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := outbox.Config{Host: "mail.example.org", TLS: outbox.TLSImplicit, Username: "vigil", Password: "s3cret",
		HeloName: "vigil.example.org", Timeout: 45 * time.Second, From: "bounces@cert.example.org",
		MaxAttempts: 4, Backoff: 2 * time.Minute, MaxBackoff: time.Hour}
	if cfg != want {
		t.Errorf("decoded\n %+v\nwant\n %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if cfg.Addr() != "mail.example.org:465" {
		t.Errorf("Addr = %s, want port 465 for implicit TLS", cfg.Addr())
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := outbox.DefaultConfig()
	cfg.Host = "mail.example.org"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults with a host: %v", err)
	}
	if cfg.TLS != outbox.TLSStartTLS || cfg.Timeout != 30*time.Second || cfg.MaxAttempts != 10 ||
		cfg.Backoff != time.Minute || cfg.MaxBackoff != 6*time.Hour {
		t.Errorf("DefaultConfig = %+v", cfg)
	}
	for _, tt := range []struct {
		tls, host string
		port      int
		want      string
	}{
		{outbox.TLSStartTLS, "mail.example.org", 0, "mail.example.org:587"},
		{outbox.TLSImplicit, "mail.example.org", 0, "mail.example.org:465"},
		{outbox.TLSNone, "127.0.0.1", 0, "127.0.0.1:25"},
		{outbox.TLSStartTLS, "::1", 2525, "[::1]:2525"},
	} {
		c := outbox.Config{Host: tt.host, Port: tt.port, TLS: tt.tls}
		if got := c.Addr(); got != tt.want {
			t.Errorf("Addr(%s, %d, %s) = %s, want %s", tt.host, tt.port, tt.tls, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, goodPEM := selfSignedCert(t)

	tests := []struct {
		name string
		edit func(*outbox.Config)
		key  string // "" for valid
	}{
		{"valid", func(c *outbox.Config) {}, ""},
		{"with a CA file", func(c *outbox.Config) { c.CAFile = goodPEM }, ""},
		{"none on loopback", func(c *outbox.Config) { c.Host, c.TLS = "127.0.0.1", outbox.TLSNone }, ""},
		{"none on localhost with login", func(c *outbox.Config) { c.Host, c.TLS, c.Username, c.Password = "localhost", outbox.TLSNone, "u", "p" }, ""},
		{"no host", func(c *outbox.Config) { c.Host = "" }, "smtp.host"},
		{"host with port", func(c *outbox.Config) { c.Host = "mail.example.org:587" }, "smtp.host"},
		{"bad port", func(c *outbox.Config) { c.Port = 70000 }, "smtp.port"},
		{"unknown tls", func(c *outbox.Config) { c.TLS = "ssl" }, "smtp.tls"},
		{"empty tls", func(c *outbox.Config) { c.TLS = "" }, "smtp.tls"},
		{"none to a remote relay", func(c *outbox.Config) { c.TLS = outbox.TLSNone }, "smtp.tls"},
		{"username without password", func(c *outbox.Config) { c.Username = "vigil" }, "smtp.password"},
		{"helo with space", func(c *outbox.Config) { c.HeloName = "my host" }, "smtp.helo_name"},
		{"zero timeout", func(c *outbox.Config) { c.Timeout = 0 }, "smtp.timeout"},
		{"missing CA file", func(c *outbox.Config) { c.CAFile = filepath.Join(dir, "missing.pem") }, "smtp.ca_file"},
		{"CA file without certificate", func(c *outbox.Config) { c.CAFile = notPEM }, "smtp.ca_file"},
		{"bad from", func(c *outbox.Config) { c.From = "not an address" }, "smtp.from"},
		{"no attempts", func(c *outbox.Config) { c.MaxAttempts = 0 }, "smtp.max_attempts"},
		{"zero backoff", func(c *outbox.Config) { c.Backoff = 0 }, "smtp.backoff"},
		{"cap below backoff", func(c *outbox.Config) { c.MaxBackoff = time.Second }, "smtp.max_backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := outbox.DefaultConfig()
			cfg.Host = "mail.example.org"
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ce *outbox.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate = %v, want a *ConfigError for %s", err, tt.key)
			}
			if ce.Key != tt.key || !strings.HasPrefix(err.Error(), tt.key+": ") {
				t.Errorf("error %q names %s, want %s", err, ce.Key, tt.key)
			}
			if _, err := outbox.NewSender(cfg, nil, nil); err == nil {
				t.Error("NewSender accepted an invalid configuration")
			}
		})
	}
}
