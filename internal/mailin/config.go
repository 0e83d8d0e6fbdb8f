package mailin

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Config is the SMTP listener's section of the configuration (mail_in).
// An empty Listen runs no listener.
type Config struct {
	// Listen is the listener's host:port, such as ":25" or
	// "127.0.0.1:2525"; empty: no listener.
	Listen string `yaml:"listen"`
	// Hostname is the name the listener gives in its greeting; empty uses
	// the machine's host name.
	Hostname string `yaml:"hostname"`
	// CertFile and KeyFile are PEM files of the certificate offered with
	// STARTTLS; without them the listener offers no STARTTLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Recipients are the addresses mail is accepted for: a whole address
	// ("report@cert.example") or a local part for any domain ("report@").
	// Any other recipient is refused with 550 at RCPT TO.
	Recipients []string `yaml:"recipients"`
	// MaxMessageBytes bounds a message; a larger one is refused with 552.
	// It also bounds the memory a session holds.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MaxRecipients bounds the recipients of one message.
	MaxRecipients int `yaml:"max_recipients"`
	// ReadTimeout bounds the wait for a client's command, and for its
	// whole message after DATA; WriteTimeout the wait for a client to
	// take an answer.
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxSessions bounds the connections served at once; one more is
	// answered 421 and closed.
	MaxSessions int `yaml:"max_sessions"`
	// MaxSessionsPerClient bounds the connections from one address.
	MaxSessionsPerClient int `yaml:"max_sessions_per_client"`
	// MaxBatch bounds the messages written in one group commit, and
	// Queue the messages waiting for the committer (a session that finds
	// the queue full for ReadTimeout is answered 451).
	MaxBatch int `yaml:"max_batch"`
	Queue    int `yaml:"queue"`
	// Retention is how long messages marked done are kept in the spool.
	Retention time.Duration `yaml:"retention"`
	// IMAP is a mailbox read into the same spool.
	IMAP IMAPConfig `yaml:"imap"`
}

// DefaultConfig is the section without configuration: no listener, and
// the limits used when one is configured.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes:      25 << 20,
		MaxRecipients:        50,
		ReadTimeout:          2 * time.Minute,
		WriteTimeout:         time.Minute,
		MaxSessions:          100,
		MaxSessionsPerClient: 20,
		MaxBatch:             256,
		Queue:                1024,
		Retention:            30 * 24 * time.Hour,
		IMAP:                 IMAPConfig{TLS: "tls", Mailbox: "INBOX", Interval: time.Minute},
	}
}

// Enabled reports whether a listener or a mailbox is configured.
func (c Config) Enabled() bool { return c.Listen != "" || c.IMAP.Enabled() }

// ConfigError is a problem with one key of the section, by catalogue ID
// (Message) for the reader's language; Error says it in English.
type ConfigError struct {
	// Key is the key's dotted name, such as "mail_in.listen".
	Key     string
	Message i18n.Message
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Message.String() }

var (
	localPart = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~.-]{1,64}$`)
	hostName  = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

func bad(key, id string, args ...any) error {
	return &ConfigError{Key: "mail_in." + key, Message: i18n.M(id, args...)}
}

// Validate checks a configured section (Enabled) and returns the first
// problem as a *ConfigError; the certificate files are read, so that a
// wrong path or a mismatched key stops Vigil at start, not at the first
// client's STARTTLS.
func (c Config) Validate() error {
	if c.Listen != "" {
		if err := c.validateListener(); err != nil {
			return err
		}
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	if c.IMAP.Enabled() {
		return c.IMAP.validate()
	}
	return nil
}

// validateListener checks the SMTP listener's settings.
func (c Config) validateListener() error {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		return bad("listen", "mailin.error.listen", c.Listen)
	}
	if c.Hostname != "" && !hostName.MatchString(c.Hostname) {
		return bad("hostname", "mailin.error.hostname", c.Hostname)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return bad("cert_file", "mailin.error.certpair")
	}
	if c.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
			return bad("cert_file", "mailin.error.cert", c.CertFile, c.KeyFile)
		}
	}
	if len(c.Recipients) == 0 {
		return bad("recipients", "mailin.error.norecipients")
	}
	for i, r := range c.Recipients {
		local, domain, ok := strings.Cut(strings.TrimSpace(r), "@")
		if !ok || !localPart.MatchString(local) || (domain != "" && !hostName.MatchString(domain)) {
			return bad(fmt.Sprintf("recipients[%d]", i), "mailin.error.recipient", r)
		}
	}
	return nil
}

// validateLimits checks the limits the listener and the poller share.
func (c Config) validateLimits() error {
	type bound struct {
		key      string
		value    int64
		min, max int64
	}
	for _, b := range []bound{
		{"max_message_bytes", c.MaxMessageBytes, 64 << 10, 1 << 30},
		{"max_recipients", int64(c.MaxRecipients), 1, 1000},
		{"max_sessions", int64(c.MaxSessions), 1, 100000},
		{"max_sessions_per_client", int64(c.MaxSessionsPerClient), 1, 100000},
		{"max_batch", int64(c.MaxBatch), 1, 10000},
		{"queue", int64(c.Queue), 1, 1000000},
	} {
		if b.value < b.min || b.value > b.max {
			return bad(b.key, "mailin.error.range", b.min, b.max, b.value)
		}
	}
	for _, t := range []struct {
		key string
		d   time.Duration
	}{{"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout}} {
		if t.d < time.Second {
			return bad(t.key, "mailin.error.timeout", t.d)
		}
	}
	if c.Retention < time.Hour {
		return bad("retention", "mailin.error.retention", c.Retention)
	}
	return nil
}

// validate checks the mailbox's settings.
func (c IMAPConfig) validate() error {
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil || host == "" || port == "" {
		return bad("imap.address", "mailin.error.imapaddress", c.Address)
	}
	switch c.TLS {
	case "tls", "starttls":
	case "none":
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return bad("imap.tls", "mailin.error.imapclear")
		}
	default:
		return bad("imap.tls", "mailin.error.imaptls", c.TLS)
	}
	if c.Username == "" || c.Password == "" {
		return bad("imap.username", "mailin.error.imaplogin")
	}
	if c.Mailbox == "" {
		return bad("imap.mailbox", "mailin.error.imapmailbox")
	}
	if c.Interval < time.Second {
		return bad("imap.interval", "mailin.error.timeout", c.Interval)
	}
	return nil
}

// hostname is the name the listener greets with.
func (c Config) hostname() string {
	if c.Hostname != "" {
		return c.Hostname
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// recipients is the set of accepted addresses: whole ones and local parts.
type recipients struct {
	whole, local map[string]bool
}

func newRecipients(list []string) recipients {
	r := recipients{whole: map[string]bool{}, local: map[string]bool{}}
	for _, a := range list {
		a = strings.ToLower(strings.TrimSpace(a))
		if l, ok := strings.CutSuffix(a, "@"); ok {
			r.local[l] = true
		} else {
			r.whole[a] = true
		}
	}
	return r
}

// accepts reports whether mail for addr is taken.
func (r recipients) accepts(addr string) bool {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if r.whole[addr] {
		return true
	}
	local, _, ok := strings.Cut(addr, "@")
	return ok && r.local[local]
}
