// Package config is Vigil's configuration: one typed struct with defaults,
// read from an optional YAML file, overridden by VIGIL_* environment
// variables, and validated with errors that name the key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// Config is the whole configuration. docs/configuration.md documents every key.
type Config struct {
	// Data is the data directory (SQLite database, inbox, archive, JetStream).
	Data string `yaml:"data"`
	// Listen is the address of the console and API.
	Listen string `yaml:"listen"`
	// PublicURL is how users reach the console (used in printed links).
	PublicURL string `yaml:"public_url"`
	// Database is empty for SQLite in the data directory, or a postgres:// URL.
	Database string   `yaml:"database"`
	SQLite   SQLite   `yaml:"sqlite"`
	Log      Log      `yaml:"log"`
	NATS     NATS     `yaml:"nats"`
	Pipeline Pipeline `yaml:"pipeline"`
	Feeds    []Feed   `yaml:"feeds"`
	// Constituency tunes the organisations' lookup table.
	Constituency Constituency `yaml:"constituency"`
	// Notify configures the automatic notification of constituents.
	Notify notify.Config `yaml:"notify"`
	// SMTP is the relay notifications are sent through.
	SMTP outbox.Config `yaml:"smtp"`
}

// Constituency tunes the table that tells which organisation owns an
// address, an AS or a domain.
type Constituency struct {
	// Reload is how often every process checks whether the organisations
	// changed (an edit in another process's console) and rebuilds its
	// table; an edit in this process's console rebuilds it at once.
	Reload time.Duration `yaml:"reload"`
}

// SQLite tunes the embedded database.
type SQLite struct {
	// Synchronous is FULL (default: one fsync per batch, nothing acknowledged
	// is lost on power failure) or NORMAL.
	Synchronous string `yaml:"synchronous"`
	// CacheMiB is the writer's page cache; larger helps large databases.
	CacheMiB int `yaml:"cache_mib"`
}

// Log chooses the log format and level.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// NATS configures the pipeline bus.
type NATS struct {
	// URL of an external NATS cluster; empty runs an embedded server.
	URL string `yaml:"url"`
	// Credentials is a .creds file for the external cluster.
	Credentials string `yaml:"credentials"`
	// Stream is the JetStream stream name.
	Stream string `yaml:"stream"`
	// MaxBytes bounds the stream; publishers wait when it is full.
	MaxBytes int64 `yaml:"max_bytes"`
	// Listen is the embedded server's client address; empty means
	// no client port (in-process only). Set it to let workers join.
	Listen string `yaml:"listen"`
}

// Pipeline tunes the stages shared by every feed.
type Pipeline struct {
	// BatchSize is the number of events per bus message and store transaction.
	BatchSize int `yaml:"batch_size"`
	// Workers is the number of batches enriched and stored concurrently.
	Workers int `yaml:"workers"`
	// Enrichers run in order on every batch.
	Enrichers []Stage `yaml:"enrichers"`
	// Outputs receive every enriched batch; "store" is always first.
	Outputs []Stage `yaml:"outputs"`
	// DeadLetters bounds what one input may put into the dead-letter
	// store before the rest of it is refused.
	DeadLetters pipeline.DeadLetterLimits `yaml:"dead_letters"`
}

// Stage names a registered module and its options.
type Stage struct {
	ID      string           `yaml:"id"`
	Options pipeline.Options `yaml:"options"`
}

// Feed is one source of observations.
type Feed struct {
	Name             string           `yaml:"name"`
	Provider         string           `yaml:"provider"`
	Enabled          *bool            `yaml:"enabled"`
	Collector        string           `yaml:"collector"`
	CollectorOptions pipeline.Options `yaml:"collector_options"`
	Parser           string           `yaml:"parser"`
	ParserOptions    pipeline.Options `yaml:"parser_options"`
	// KeepRaw keeps the source line in raw (default true).
	KeepRaw  *bool   `yaml:"keep_raw"`
	Accuracy float64 `yaml:"accuracy"`
	URL      string  `yaml:"url"`
	Code     string  `yaml:"code"`
	// TLP labels events that carry none.
	TLP string `yaml:"tlp"`
}

// IsEnabled reports whether the feed runs (default true).
func (f Feed) IsEnabled() bool { return f.Enabled == nil || *f.Enabled }

// KeepsRaw reports whether events keep their raw line (default true).
func (f Feed) KeepsRaw() bool { return f.KeepRaw == nil || *f.KeepRaw }

// Default returns the configuration used without a file: SQLite and an
// embedded NATS in ./vigil-data, the console on 127.0.0.1:8080, and one
// feed reading every file dropped into the inbox.
func Default() Config {
	return Config{
		Data:   "./vigil-data",
		Listen: "127.0.0.1:8080",
		SQLite: SQLite{Synchronous: "FULL", CacheMiB: 64},
		Log:    Log{Level: "info", Format: "text"},
		NATS:   NATS{Stream: "VIGIL", MaxBytes: 1 << 30},
		Pipeline: Pipeline{
			BatchSize:   1000,
			Workers:     2,
			Enrichers:   []Stage{{ID: "url"}, {ID: "taxonomy"}, {ID: "dedup"}, {ID: "constituency"}},
			Outputs:     []Stage{{ID: "store"}},
			DeadLetters: pipeline.DefaultDeadLetterLimits(),
		},
		Feeds:        []Feed{DefaultInboxFeed()},
		Constituency: Constituency{Reload: 10 * time.Second},
		Notify:       notify.DefaultConfig(),
		SMTP:         outbox.DefaultConfig(),
	}
}

// DefaultInboxFeed reads any file dropped into <data>/inbox and recognises
// its format from its name.
func DefaultInboxFeed() Feed {
	return Feed{Name: "inbox", Provider: "local", Collector: "inbox", Parser: "auto",
		CollectorOptions: pipeline.Options{}, ParserOptions: pipeline.Options{}}
}

// Error is a configuration problem at one key.
type Error struct {
	Key    string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("config: %s: %s", e.Key, e.Reason) }

// Load reads the YAML file at path (none when path is ""), applies the
// environment and validates the result.
func Load(path string, env func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := Parse(raw, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := cfg.ApplyEnv(env); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// Parse reads YAML over cfg, refusing unknown keys.
func Parse(raw []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			m := yamlLine.FindStringSubmatch(te.Errors[0])
			if m != nil {
				return &Error{Key: "line " + m[1], Reason: m[2]}
			}
			return &Error{Key: "yaml", Reason: te.Errors[0]}
		}
		return &Error{Key: "yaml", Reason: err.Error()}
	}
	return nil
}

// ApplyEnv overrides keys from VIGIL_* variables.
func (c *Config) ApplyEnv(env func(string) string) error {
	if env == nil {
		env = os.Getenv
	}
	set := func(name string, dst *string) {
		if v := env(name); v != "" {
			*dst = v
		}
	}
	set("VIGIL_DATA", &c.Data)
	set("VIGIL_LISTEN", &c.Listen)
	set("VIGIL_PUBLIC_URL", &c.PublicURL)
	set("VIGIL_DATABASE", &c.Database)
	set("VIGIL_LOG_LEVEL", &c.Log.Level)
	set("VIGIL_LOG_FORMAT", &c.Log.Format)
	set("VIGIL_NATS_URL", &c.NATS.URL)
	set("VIGIL_NATS_LISTEN", &c.NATS.Listen)
	set("VIGIL_SMTP_HOST", &c.SMTP.Host)
	set("VIGIL_SMTP_USERNAME", &c.SMTP.Username)
	set("VIGIL_SMTP_PASSWORD", &c.SMTP.Password)
	set("VIGIL_NOTIFY_FROM", &c.Notify.From)
	if v := env("VIGIL_PIPELINE_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &Error{Key: "VIGIL_PIPELINE_WORKERS", Reason: "want an integer"}
		}
		c.Pipeline.Workers = n
	}
	return nil
}

var feedName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks every key and returns the first problem.
func (c *Config) Validate() error {
	if c.Data == "" {
		return &Error{Key: "data", Reason: "must not be empty"}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return &Error{Key: "listen", Reason: fmt.Sprintf("want host:port, got %q", c.Listen)}
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return &Error{Key: "database", Reason: "want empty (SQLite) or a postgres:// URL"}
	}
	switch strings.ToUpper(c.SQLite.Synchronous) {
	case "FULL", "NORMAL", "OFF":
	default:
		return &Error{Key: "sqlite.synchronous", Reason: "want FULL or NORMAL"}
	}
	if c.SQLite.CacheMiB < 2 || c.SQLite.CacheMiB > 65536 {
		return &Error{Key: "sqlite.cache_mib", Reason: "want 2 to 65536"}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return &Error{Key: "log.level", Reason: "want debug, info, warn or error"}
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return &Error{Key: "log.format", Reason: "want text or json"}
	}
	if c.NATS.URL != "" && !strings.Contains(c.NATS.URL, "://") {
		return &Error{Key: "nats.url", Reason: "want a URL such as nats://host:4222"}
	}
	if c.NATS.Stream == "" || strings.ContainsAny(c.NATS.Stream, " .*>") {
		return &Error{Key: "nats.stream", Reason: "want a name without spaces, dots or wildcards"}
	}
	if c.NATS.MaxBytes < 1<<20 {
		return &Error{Key: "nats.max_bytes", Reason: "want at least 1048576"}
	}
	if c.NATS.Listen != "" {
		if _, _, err := net.SplitHostPort(c.NATS.Listen); err != nil {
			return &Error{Key: "nats.listen", Reason: "want host:port"}
		}
	}
	if c.Pipeline.BatchSize < 1 || c.Pipeline.BatchSize > 100000 {
		return &Error{Key: "pipeline.batch_size", Reason: "want 1 to 100000"}
	}
	if c.Pipeline.Workers < 1 || c.Pipeline.Workers > 256 {
		return &Error{Key: "pipeline.workers", Reason: "want 1 to 256"}
	}
	// A limit of a handful of letters would refuse real reports for a
	// few bad rows; one of gigabytes would be no limit at all.
	if n := c.Pipeline.DeadLetters.MaxLetters; n < 1 || n > 10000000 {
		return &Error{Key: "pipeline.dead_letters.max_per_input", Reason: "want 1 to 10000000"}
	}
	if n := c.Pipeline.DeadLetters.MaxBytes; n < 64<<10 || n > 16<<30 {
		return &Error{Key: "pipeline.dead_letters.max_bytes_per_input", Reason: "want 65536 (64 KiB) to 17179869184 (16 GiB)"}
	}
	for i, s := range c.Pipeline.Enrichers {
		if s.ID == "" {
			return &Error{Key: fmt.Sprintf("pipeline.enrichers[%d].id", i), Reason: "missing"}
		}
	}
	for i, s := range c.Pipeline.Outputs {
		if s.ID == "" {
			return &Error{Key: fmt.Sprintf("pipeline.outputs[%d].id", i), Reason: "missing"}
		}
	}
	seen := map[string]bool{}
	for i, f := range c.Feeds {
		key := fmt.Sprintf("feeds[%d]", i)
		if !feedName.MatchString(f.Name) {
			return &Error{Key: key + ".name", Reason: "want letters, digits, '.', '_' or '-' (at most 64)"}
		}
		if seen[f.Name] {
			return &Error{Key: key + ".name", Reason: fmt.Sprintf("feed %q defined twice", f.Name)}
		}
		seen[f.Name] = true
		if f.Parser == "" {
			return &Error{Key: key + ".parser", Reason: "missing"}
		}
		if f.Accuracy < 0 || f.Accuracy > 100 {
			return &Error{Key: key + ".accuracy", Reason: "want 0 to 100"}
		}
		if f.TLP != "" {
			switch strings.ToUpper(strings.TrimPrefix(strings.ToUpper(f.TLP), "TLP:")) {
			case "CLEAR", "WHITE", "GREEN", "AMBER", "AMBER+STRICT", "RED":
			default:
				return &Error{Key: key + ".tlp", Reason: "want CLEAR, GREEN, AMBER, AMBER+STRICT or RED"}
			}
		}
	}
	if c.Constituency.Reload < time.Second {
		return &Error{Key: "constituency.reload", Reason: "want at least 1s"}
	}
	if err := c.Notify.Validate(); err != nil {
		var fe *notify.FieldError
		if errors.As(err, &fe) {
			return &Error{Key: "notify." + fe.Field, Reason: fe.Reason}
		}
		return &Error{Key: "notify", Reason: err.Error()}
	}
	// The relay is checked when something will be sent through it, or
	// when it is set at all (a typo should not wait for the first mail).
	if c.SMTP.Host != "" || c.Notify.Enabled {
		if err := c.SMTP.Validate(); err != nil {
			var ce *outbox.ConfigError
			if errors.As(err, &ce) {
				return &Error{Key: ce.Key, Reason: ce.Reason}
			}
			return &Error{Key: "smtp", Reason: err.Error()}
		}
	}
	return nil
}

// Path joins a path relative to the data directory.
func (c *Config) Path(elem ...string) string {
	return filepath.Join(append([]string{c.Data}, elem...)...)
}
