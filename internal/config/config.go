// Package config is Vigil's configuration: one typed struct with defaults,
// read from an optional YAML file, overridden by VIGIL_* environment
// variables, and validated with errors that name the key.
package config

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident/alert"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
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
	// TLS makes the console and API listen on HTTPS.
	TLS TLS `yaml:"tls"`
	// HTTP sets the web listeners' limits and who may say a request
	// arrived over HTTPS.
	HTTP HTTP `yaml:"http"`
	// MailIn is the SMTP listener reports are mailed to (none by default).
	MailIn mailin.Config `yaml:"mail_in"`
	// ReportForm configures the public report form.
	ReportForm ReportForm `yaml:"report_form"`
	// IncidentAlerts are the rules by which stored events raise alerts
	// in the triage queue (none by default; its zero value is the
	// default).
	IncidentAlerts alert.Config `yaml:"incident_alerts"`
	// Newsletter is the publications' mailing list (off by default).
	Newsletter newsletter.Config `yaml:"newsletter"`
	// Publishing sets the publications' idents, languages and severity
	// scale.
	Publishing publication.Config `yaml:"publishing"`
	// Social are the social channels publications go out on (Mastodon,
	// Bluesky, webhooks; none by default) and the publication outbox's
	// retries.
	Social channel.Config `yaml:"social"`
	// Site configures the public website, its feeds and security.txt.
	Site Site `yaml:"site"`
}

// TLS is how `vigil serve` gets its certificate: from files (cert_file,
// key_file), from an ACME CA (acme), or not at all (plain HTTP, for
// serving behind a TLS-terminating proxy or on the loopback interface).
type TLS struct {
	// CertFile and KeyFile are PEM files, read again when they change.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ACME gets and renews certificates from an ACME CA.
	ACME ACME `yaml:"acme"`
	// RedirectListen is a plain-HTTP address (such as ":80") that
	// redirects browsers to HTTPS and, with ACME, answers the CA's
	// HTTP-01 challenges; empty: none.
	RedirectListen string `yaml:"redirect_listen"`
}

// ACME configures certificates from an ACME CA (Let's Encrypt, or a
// private CA speaking ACME).
type ACME struct {
	// Domains are the names certificates are requested for; only these.
	Domains []string `yaml:"domains"`
	// Email is the contact the CA writes to about expiring certificates.
	Email string `yaml:"email"`
	// DirectoryURL is the CA's ACME directory (default Let's Encrypt).
	DirectoryURL string `yaml:"directory_url"`
	// CacheDir keeps the account key and certificates; relative to the
	// data directory.
	CacheDir string `yaml:"cache_dir"`
}

// Enabled reports whether any certificate source is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.ACME.Enabled() }

// Enabled reports whether ACME is configured.
func (a ACME) Enabled() bool { return len(a.Domains) > 0 || a.Email != "" || a.DirectoryURL != "" }

// DefaultACMEDirectory is Let's Encrypt's production directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// HTTP bounds the web listeners and names the proxies in front of them.
type HTTP struct {
	// TrustedProxies are addresses or networks (CIDR) of reverse proxies
	// whose X-Forwarded-For, X-Forwarded-Proto and Forwarded headers are
	// believed; from anyone else they are ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// HSTS is the Strict-Transport-Security header sent with HTTPS
	// responses; "off" sends none.
	HSTS string `yaml:"hsts"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// each connection; WriteTimeout counts from the last progress, so
	// long exports that keep streaming complete.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// UploadTimeout replaces ReadTimeout for file uploads.
	UploadTimeout time.Duration `yaml:"upload_timeout"`
	// MaxHeaderBytes, MaxBodyBytes and MaxUploadBytes bound a request's
	// header, its body, and the body of a file upload.
	MaxHeaderBytes int   `yaml:"max_header_bytes"`
	MaxBodyBytes   int64 `yaml:"max_body_bytes"`
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`
}

// DefaultHTTP are the limits used without configuration.
func DefaultHTTP() HTTP {
	return HTTP{
		HSTS:              "max-age=31536000; includeSubDomains",
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		UploadTimeout:     10 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		MaxBodyBytes:      1 << 20,
		MaxUploadBytes:    32 << 20,
	}
}

// Proxies parses TrustedProxies; Validate has checked them.
func (h HTTP) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range h.TrustedProxies {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				return nil, &Error{Key: fmt.Sprintf("http.trusted_proxies[%d]", i), Message: i18n.M("config.error.http.proxy", s)}
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, &Error{Key: fmt.Sprintf("http.trusted_proxies[%d]", i), Message: i18n.M("config.error.http.proxy", s)}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

var hstsValue = regexp.MustCompile(`^max-age=[0-9]{1,10}(; ?includeSubDomains)?(; ?preload)?$`)

// validate checks the TLS settings, reading the certificate files so that
// a wrong path or a mismatched key stops Vigil at start, not at the first
// browser's handshake.
func (t TLS) validate() error {
	if t.CertFile != "" || t.KeyFile != "" {
		if t.ACME.Enabled() {
			return &Error{Key: "tls.acme", Message: i18n.M("config.error.tls.both")}
		}
		if t.CertFile == "" {
			return &Error{Key: "tls.cert_file", Message: i18n.M("config.error.tls.nocert")}
		}
		if t.KeyFile == "" {
			return &Error{Key: "tls.key_file", Message: i18n.M("config.error.tls.nokey")}
		}
		for _, f := range []struct{ key, path string }{{"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile}} {
			file, err := os.Open(f.path)
			if err != nil {
				return &Error{Key: f.key, Message: i18n.FileProblem(f.path, err)}
			}
			file.Close()
		}
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			return &Error{Key: "tls.cert_file", Message: i18n.M("config.error.tls.pair", t.CertFile, t.KeyFile, err.Error())}
		}
	}
	if t.ACME.Enabled() {
		if len(t.ACME.Domains) == 0 {
			return &Error{Key: "tls.acme.domains", Message: i18n.M("config.error.acme.domains")}
		}
		for i, d := range t.ACME.Domains {
			if !domainName.MatchString(d) {
				return &Error{Key: fmt.Sprintf("tls.acme.domains[%d]", i), Message: i18n.M("config.error.acme.domain", d)}
			}
		}
		if t.ACME.Email != "" && !strings.Contains(t.ACME.Email, "@") {
			return &Error{Key: "tls.acme.email", Message: i18n.M("config.error.acme.email", t.ACME.Email)}
		}
		if u, err := url.Parse(t.ACME.DirectoryURL); t.ACME.DirectoryURL != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
			return &Error{Key: "tls.acme.directory_url", Message: i18n.M("config.error.https", t.ACME.DirectoryURL)}
		}
	}
	if t.RedirectListen != "" {
		if !t.Enabled() {
			return &Error{Key: "tls.redirect_listen", Message: i18n.M("config.error.tls.redirect")}
		}
		if _, _, err := net.SplitHostPort(t.RedirectListen); err != nil {
			return &Error{Key: "tls.redirect_listen", Message: i18n.M("config.error.hostport", ":80", t.RedirectListen)}
		}
	}
	return nil
}

var domainName = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$`)

func (h HTTP) validate() error {
	if _, err := h.Proxies(); err != nil {
		return err
	}
	if h.HSTS != "off" && !hstsValue.MatchString(h.HSTS) {
		return &Error{Key: "http.hsts", Message: i18n.M("config.error.http.hsts", h.HSTS)}
	}
	for _, t := range []struct {
		key string
		d   time.Duration
	}{{"http.read_header_timeout", h.ReadHeaderTimeout}, {"http.read_timeout", h.ReadTimeout},
		{"http.write_timeout", h.WriteTimeout}, {"http.idle_timeout", h.IdleTimeout}, {"http.upload_timeout", h.UploadTimeout}} {
		if t.d < time.Second {
			return &Error{Key: t.key, Message: i18n.M("config.error.duration.atleast", "1s", t.d.String())}
		}
	}
	if h.MaxHeaderBytes < 4096 {
		return &Error{Key: "http.max_header_bytes", Message: i18n.M("config.error.atleast", 4096, h.MaxHeaderBytes)}
	}
	if h.MaxBodyBytes < 64<<10 {
		return &Error{Key: "http.max_body_bytes", Message: i18n.M("config.error.atleast", 65536, h.MaxBodyBytes)}
	}
	if h.MaxUploadBytes < h.MaxBodyBytes {
		return &Error{Key: "http.max_upload_bytes", Message: i18n.M("config.error.http.upload", h.MaxBodyBytes, h.MaxUploadBytes)}
	}
	return nil
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
// Keys left empty are left out when a feed is written (FeedYAML).
type Feed struct {
	Name             string           `yaml:"name"`
	Provider         string           `yaml:"provider,omitempty"`
	Enabled          *bool            `yaml:"enabled,omitempty"`
	Collector        string           `yaml:"collector,omitempty"`
	CollectorOptions pipeline.Options `yaml:"collector_options,omitempty"`
	Parser           string           `yaml:"parser"`
	ParserOptions    pipeline.Options `yaml:"parser_options,omitempty"`
	// KeepRaw keeps the source line in raw (default true).
	KeepRaw  *bool   `yaml:"keep_raw,omitempty"`
	Accuracy float64 `yaml:"accuracy,omitempty"`
	URL      string  `yaml:"url,omitempty"`
	Code     string  `yaml:"code,omitempty"`
	// TLP labels events that carry none.
	TLP string `yaml:"tlp,omitempty"`
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
		TLS:          TLS{ACME: ACME{CacheDir: "acme"}},
		HTTP:         DefaultHTTP(),
		MailIn:       mailin.DefaultConfig(),
		ReportForm:   DefaultReportForm(),
		Social:       channel.DefaultConfig(),
		Newsletter:   newsletter.DefaultConfig(),
		Site:         DefaultSite(),
	}
}

// DefaultInboxFeed reads any file dropped into <data>/inbox and recognises
// its format from its name.
func DefaultInboxFeed() Feed {
	return Feed{Name: "inbox", Provider: "local", Collector: "inbox", Parser: "auto",
		CollectorOptions: pipeline.Options{}, ParserOptions: pipeline.Options{}}
}

// Error is a configuration problem at one key, or in the file itself
// (it cannot be read, or is not valid YAML).
type Error struct {
	// Key is the key's dotted name ("pipeline.workers"), or the
	// environment variable's; empty for a problem of the file itself.
	Key string
	// File and Line say where in the file a YAML problem is; File alone
	// names a file that cannot be read.
	File string
	Line int
	// Message is the problem by catalogue ID, which the console and the
	// command line translate; Error is it in English, for the log.
	Message i18n.Message
	// Err is the error behind the problem (a file that cannot be read, a
	// module that cannot be built), for errors.Is.
	Err error
}

// Error is the problem in English: the message as the English
// catalogue says it, so that the log and the reader say the same.
func (e *Error) Error() string { return i18n.M("config.error.at", e.where(), e.Message).String() }

func (e *Error) Unwrap() error { return e.Err }

// where is the place the error names: the file (or key) and line, a
// message to translate, or the file or the key, a string.
func (e *Error) where() any {
	place := e.Key
	if e.File != "" {
		place = e.File
	}
	switch {
	case e.Line > 0 && place != "":
		return i18n.M("config.error.line", place, e.Line)
	case e.Line > 0:
		return i18n.M("config.error.lineonly", e.Line)
	}
	return place
}

// Explain is the error in the reader's language, when Message is set.
func (e *Error) Explain() i18n.Message {
	if e.Message.IsZero() {
		return i18n.Message{}
	}
	return i18n.M("config.error.at", e.where(), e.Message)
}

// Load reads the YAML file at path (none when path is ""), applies the
// environment and validates the result.
func Load(path string, env func(string) string) (Config, error) {
	cfg, err := Read(path, env)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Read is Load without the validation, for a caller that completes the
// configuration first (`vigil serve --demo`) and validates it then.
func Read(path string, env func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, &Error{File: path, Message: i18n.FileProblem("", err), Err: err}
		}
		if err := Parse(raw, &cfg); err != nil {
			var ce *Error
			if errors.As(err, &ce) {
				ce.File = path
			}
			return cfg, err
		}
	}
	if err := cfg.ApplyEnv(env); err != nil {
		return cfg, err
	}
	return cfg, nil
}

var (
	yamlLine    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknown = regexp.MustCompile(`^field (\S+) not found in type `)
	yamlTwice   = regexp.MustCompile(`^(?:mapping key "(.*)" already defined at line (\d+)|field (\S+) already set in type )`)
	yamlType    = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// Parse reads YAML over cfg, refusing unknown keys. A problem is an
// *Error at the line it is on, without the file, which Read adds.
func Parse(raw []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return yamlError(err)
	}
	return nil
}

// yamlError is a YAML library's error as an *Error at its line: a key
// that does not exist or is written twice, a value of the wrong type, or
// text that is not YAML. The library's words follow the translated
// sentence where it has nothing better to say.
func yamlError(err error) *Error {
	detail := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		detail = te.Errors[0]
	}
	e := &Error{}
	reason := strings.TrimPrefix(detail, "yaml: ")
	if m := yamlLine.FindStringSubmatch(detail); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		reason = m[2]
	}
	if te == nil {
		e.Message = i18n.M("config.error.yaml.syntax", reason)
		return e
	}
	e.Message = yamlTypeMessage(reason)
	return e
}

// yamlTypeMessage says what is wrong with a key or its value, from the
// library's words: the key is unknown or written twice, or the value is
// not what the key's Go type takes.
func yamlTypeMessage(reason string) i18n.Message {
	if m := yamlUnknown.FindStringSubmatch(reason); m != nil {
		return i18n.M("config.error.yaml.unknown", m[1])
	}
	if m := yamlTwice.FindStringSubmatch(reason); m != nil {
		if m[3] != "" {
			return i18n.M("config.error.yaml.set", m[3])
		}
		line, _ := strconv.Atoi(m[2])
		return i18n.M("config.error.yaml.twice", m[1], line)
	}
	m := yamlType.FindStringSubmatch(reason)
	if m == nil {
		return i18n.M("config.error.yaml.type", reason)
	}
	tag, value, into := m[1], m[2], m[3]
	collection := tag == "seq" || tag == "map"
	// A type with a package name or a map is a section (a struct or
	// options), time.Duration aside; the others are Go's own.
	section := strings.HasPrefix(into, "map[") || strings.HasPrefix(into, "*") || strings.Contains(into, ".") && into != "time.Duration"
	switch {
	case strings.HasPrefix(into, "[]"):
		return i18n.M("config.error.yaml.list")
	case !collection && section:
		return i18n.M("config.error.yaml.section")
	case collection && !section:
		return i18n.M("config.error.yaml.scalar")
	case into == "time.Duration":
		return i18n.M("config.error.yaml.duration", value)
	case into == "bool":
		return i18n.M("config.error.yaml.bool", value)
	case strings.HasPrefix(into, "int") || strings.HasPrefix(into, "uint"):
		return i18n.M("config.error.yaml.int", value)
	case strings.HasPrefix(into, "float"):
		return i18n.M("config.error.yaml.number", value)
	}
	return i18n.M("config.error.yaml.type", reason)
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
	set("VIGIL_MAIL_IN_IMAP_PASSWORD", &c.MailIn.IMAP.Password)
	set("VIGIL_NOTIFY_FROM", &c.Notify.From)
	set("VIGIL_TLS_CERT_FILE", &c.TLS.CertFile)
	set("VIGIL_TLS_KEY_FILE", &c.TLS.KeyFile)
	if v := env("VIGIL_TRUSTED_PROXIES"); v != "" {
		c.HTTP.TrustedProxies = strings.Split(v, ",")
	}
	if v := env("VIGIL_PIPELINE_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &Error{Key: "VIGIL_PIPELINE_WORKERS", Message: i18n.M("config.error.env.integer", v)}
		}
		c.Pipeline.Workers = n
	}
	return nil
}

var feedName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks every key and returns the first problem.
func (c *Config) Validate() error {
	if c.Data == "" {
		return &Error{Key: "data", Message: i18n.M("config.error.data")}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return &Error{Key: "listen", Message: i18n.M("config.error.hostport", "127.0.0.1:8080", c.Listen)}
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return &Error{Key: "database", Message: i18n.M("config.error.database")}
	}
	switch strings.ToUpper(c.SQLite.Synchronous) {
	case "FULL", "NORMAL", "OFF":
	default:
		return &Error{Key: "sqlite.synchronous", Message: i18n.M("config.error.sqlite.synchronous", c.SQLite.Synchronous)}
	}
	if c.SQLite.CacheMiB < 2 || c.SQLite.CacheMiB > 65536 {
		return &Error{Key: "sqlite.cache_mib", Message: i18n.M("config.error.range", 2, 65536, c.SQLite.CacheMiB)}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return &Error{Key: "log.level", Message: i18n.M("config.error.log.level", c.Log.Level)}
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return &Error{Key: "log.format", Message: i18n.M("config.error.log.format", c.Log.Format)}
	}
	if c.NATS.URL != "" && !strings.Contains(c.NATS.URL, "://") {
		return &Error{Key: "nats.url", Message: i18n.M("config.error.nats.url", c.NATS.URL)}
	}
	if c.NATS.Stream == "" || strings.ContainsAny(c.NATS.Stream, " .*>") {
		return &Error{Key: "nats.stream", Message: i18n.M("config.error.nats.stream", c.NATS.Stream)}
	}
	if c.NATS.MaxBytes < 1<<20 {
		return &Error{Key: "nats.max_bytes", Message: i18n.M("config.error.atleast", 1<<20, c.NATS.MaxBytes)}
	}
	if c.NATS.Listen != "" {
		if _, _, err := net.SplitHostPort(c.NATS.Listen); err != nil {
			return &Error{Key: "nats.listen", Message: i18n.M("config.error.hostport", "127.0.0.1:4222", c.NATS.Listen)}
		}
	}
	if err := c.Pipeline.validate(); err != nil {
		return err
	}
	if err := validateFeeds(c.Feeds); err != nil {
		return err
	}
	if c.Constituency.Reload < time.Second {
		return &Error{Key: "constituency.reload", Message: i18n.M("config.error.duration.atleast", "1s", c.Constituency.Reload.String())}
	}
	if err := c.Notify.Validate(); err != nil {
		var fe *notify.FieldError
		if errors.As(err, &fe) {
			return &Error{Key: "notify." + fe.Field, Message: fe.Message}
		}
		return &Error{Key: "notify", Message: i18n.M("config.error.section", err.Error())}
	}
	if err := c.TLS.validate(); err != nil {
		return err
	}
	if err := c.HTTP.validate(); err != nil {
		return err
	}
	if c.MailIn.Enabled() {
		if err := c.MailIn.Validate(); err != nil {
			var me *mailin.ConfigError
			if errors.As(err, &me) {
				return &Error{Key: me.Key, Message: me.Message}
			}
			return &Error{Key: "mail_in", Message: i18n.M("config.error.section", err.Error())}
		}
	}
	if err := c.ReportForm.validate(c.HTTP.MaxUploadBytes); err != nil {
		return err
	}
	// The languages are checked here, not only when `vigil serve` starts
	// the newsletter, so that a wrong one is explained like every key.
	if err := c.Newsletter.Validate(); err != nil {
		var ne *newsletter.ConfigError
		if errors.As(err, &ne) {
			return &Error{Key: ne.Key, Message: ne.Message}
		}
		return &Error{Key: "newsletter", Message: i18n.M("config.error.section", err.Error())}
	}
	if c.Newsletter.Enabled && c.SMTP.Host == "" {
		return &Error{Key: "newsletter.enabled", Message: i18n.M("config.error.newsletter.relay")}
	}
	if err := c.Site.validate(); err != nil {
		return err
	}
	if err := c.Publishing.Validate(); err != nil {
		var pe *publication.InputError
		if errors.As(err, &pe) {
			return &Error{Key: pe.Field, Message: pe.Message}
		}
		return &Error{Key: "publishing", Message: i18n.M("config.error.section", err.Error())}
	}
	if err := c.IncidentAlerts.Validate(); err != nil {
		var ae *alert.ConfigError
		if errors.As(err, &ae) {
			return &Error{Key: ae.Key, Message: ae.Message}
		}
		return &Error{Key: "incident_alerts", Message: i18n.M("config.error.section", err.Error())}
	}
	if err := c.validateSocial(); err != nil {
		return err
	}
	// The relay is checked when something will be sent through it, or
	// when it is set at all (a typo should not wait for the first mail).
	if c.SMTP.Host != "" || c.Notify.Enabled {
		if err := c.SMTP.Validate(); err != nil {
			var ce *outbox.ConfigError
			if errors.As(err, &ce) {
				return &Error{Key: ce.Key, Message: ce.Message}
			}
			return &Error{Key: "smtp", Message: i18n.M("config.error.section", err.Error())}
		}
	}
	return nil
}

// validate checks the pipeline's settings.
func (p Pipeline) validate() error {
	if p.BatchSize < 1 || p.BatchSize > 100000 {
		return &Error{Key: "pipeline.batch_size", Message: i18n.M("config.error.range", 1, 100000, p.BatchSize)}
	}
	if p.Workers < 1 || p.Workers > 256 {
		return &Error{Key: "pipeline.workers", Message: i18n.M("config.error.range", 1, 256, p.Workers)}
	}
	// A limit of a handful of letters would refuse real reports for a
	// few bad rows; one of gigabytes would be no limit at all.
	if n := p.DeadLetters.MaxLetters; n < 1 || n > 10000000 {
		return &Error{Key: "pipeline.dead_letters.max_per_input", Message: i18n.M("config.error.range", 1, 10000000, n)}
	}
	if n := p.DeadLetters.MaxBytes; n < 64<<10 || n > 16<<30 {
		return &Error{Key: "pipeline.dead_letters.max_bytes_per_input", Message: i18n.M("config.error.pipeline.deadbytes", n)}
	}
	for i, s := range p.Enrichers {
		if s.ID == "" {
			return &Error{Key: fmt.Sprintf("pipeline.enrichers[%d].id", i), Message: i18n.M("config.error.pipeline.id")}
		}
	}
	for i, s := range p.Outputs {
		if s.ID == "" {
			return &Error{Key: fmt.Sprintf("pipeline.outputs[%d].id", i), Message: i18n.M("config.error.pipeline.id")}
		}
	}
	return nil
}

// Path joins a path relative to the data directory.
func (c *Config) Path(elem ...string) string {
	return filepath.Join(append([]string{c.Data}, elem...)...)
}
