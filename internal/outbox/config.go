package outbox

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TLS modes of Config.TLS.
const (
	// TLSStartTLS connects in clear and upgrades with STARTTLS before
	// anything else is said; a server that does not offer it is not used.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit = "tls"
	// TLSNone sends in clear. Validate allows it only for a relay on the
	// loopback interface (a local Postfix, a test server).
	TLSNone = "none"
)

// Config is how Vigil reaches the team's SMTP relay (the smtp: section of
// the configuration file).
type Config struct {
	// Host is the relay's name or address.
	Host string `yaml:"host"`
	// Port is the relay's port; 0 means the usual one for TLS: 587 for
	// starttls, 465 for tls, 25 for none.
	Port int `yaml:"port"`
	// TLS is starttls (default), tls or none (see the TLS constants).
	TLS string `yaml:"tls"`
	// Username and Password log in with AUTH PLAIN, which Vigil does only
	// over TLS or to a relay on the loopback interface.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// HeloName is the name Vigil gives in EHLO; empty uses the machine's
	// host name.
	HeloName string `yaml:"helo_name"`
	// Timeout bounds connecting and how long the relay may stay silent
	// during a command (default 30s). The relay's answer to the end of a
	// message is awaited at least 10 minutes (RFC 5321 4.5.3.2.6): giving
	// up sooner is how a message gets delivered twice.
	Timeout time.Duration `yaml:"timeout"`
	// InsecureSkipVerify accepts any certificate: only for a test relay.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// CAFile is a PEM file of the certificates that may sign the relay's
	// certificate, instead of the system's (a relay with a private CA or a
	// self-signed certificate).
	CAFile string `yaml:"ca_file"`
	// From is the envelope sender (MAIL FROM), where bounces go; empty
	// uses each message's own sender, the notifier's From address.
	From string `yaml:"from"`
	// MaxAttempts is how many times a message is tried before it is
	// marked failed (default 10).
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait after the first temporary failure (default 1m);
	// it doubles after each further one, up to MaxBackoff (default 6h).
	// With the defaults the tenth attempt comes about 8.5 hours after the
	// first.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// DefaultConfig returns the defaults: STARTTLS on the submission port,
// 30 s timeout, 10 attempts, backoff from one minute doubling to six hours.
// Host is empty: there is no default relay.
func DefaultConfig() Config {
	return Config{
		TLS:         TLSStartTLS,
		Timeout:     30 * time.Second,
		MaxAttempts: 10,
		Backoff:     time.Minute,
		MaxBackoff:  6 * time.Hour,
	}
}

// ConfigError is a problem with one key of the smtp section, by catalogue
// ID (Message) for the reader's language; Error says it in English.
type ConfigError struct {
	// Key is the key's dotted name, such as "smtp.port".
	Key     string
	Message i18n.Message
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Message.String() }

// Validate checks every key and returns the first problem as a
// *ConfigError. An empty Host is a problem: callers validate the section
// only when mail is to be sent.
func (c Config) Validate() error {
	bad := func(key string, m i18n.Message) error {
		return &ConfigError{Key: "smtp." + key, Message: m}
	}
	if c.Host == "" {
		return bad("host", i18n.M("config.error.smtp.host"))
	}
	if strings.ContainsAny(c.Host, " /:\r\n") && net.ParseIP(c.Host) == nil {
		return bad("host", i18n.M("config.error.smtp.hostname", c.Host))
	}
	if c.Port < 0 || c.Port > 65535 {
		return bad("port", i18n.M("config.error.smtp.port", c.Port))
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(c.Host) {
			return bad("tls", i18n.M("config.error.smtp.clear"))
		}
	default:
		return bad("tls", i18n.M("config.error.smtp.tls", c.TLS))
	}
	if (c.Username == "") != (c.Password == "") {
		return bad("password", i18n.M("config.error.smtp.login"))
	}
	if strings.ContainsAny(c.HeloName, " \t\r\n") {
		return bad("helo_name", i18n.M("config.error.smtp.helo", c.HeloName))
	}
	if c.Timeout <= 0 {
		return bad("timeout", i18n.M("config.error.duration.positive", "30s", c.Timeout.String()))
	}
	if c.CAFile != "" {
		if _, err := loadCertPool(c.CAFile); err != nil {
			return bad("ca_file", caProblem(c.CAFile, err))
		}
	}
	if c.From != "" {
		if _, err := envelopeAddress(c.From); err != nil {
			return bad("from", i18n.M("config.error.address", c.From))
		}
	}
	if c.MaxAttempts < 1 {
		return bad("max_attempts", i18n.M("config.error.atleast", 1, c.MaxAttempts))
	}
	if c.Backoff <= 0 {
		return bad("backoff", i18n.M("config.error.duration.positive", "1m", c.Backoff.String()))
	}
	if c.MaxBackoff < c.Backoff {
		return bad("max_backoff", i18n.M("config.error.smtp.maxbackoff", c.Backoff.String(), c.MaxBackoff.String()))
	}
	return nil
}

// Addr is the relay's host:port, with the usual port when Port is 0.
func (c Config) Addr() string {
	port := c.Port
	if port == 0 {
		switch c.TLS {
		case TLSImplicit:
			port = 465
		case TLSNone:
			port = 25
		default:
			port = 587
		}
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// tlsConfig is the client TLS configuration for the relay.
func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{
		ServerName:         c.Host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.InsecureSkipVerify, // for test relays, as documented
	}
	if c.CAFile != "" {
		pool, err := loadCertPool(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp.ca_file: %w", err)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// caProblem says why loadCertPool refused the file at path.
func caProblem(path string, err error) i18n.Message {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return i18n.M("config.error.file.missing", path)
	case errors.Is(err, fs.ErrPermission):
		return i18n.M("config.error.file.permission", path)
	case errors.As(err, &pe):
		return i18n.M("config.error.file.read", path, pe.Err.Error())
	}
	return i18n.M("config.error.smtp.ca", path)
}

func loadCertPool(path string) (*x509.CertPool, error) {
	pemData, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// isLoopback reports a host that is this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// envelopeAddress returns the bare address of "Name <address>" or
// "address", as MAIL FROM and RCPT TO take it.
func envelopeAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an e-mail address: %w", s, err)
	}
	return a.Address, nil
}

// heloName is the name for EHLO: the configured one, else this machine's
// name when it looks like a domain name, else localhost.
func (c Config) heloName() string {
	if c.HeloName != "" {
		return c.HeloName
	}
	if name, err := os.Hostname(); err == nil && strings.Contains(name, ".") && !strings.ContainsAny(name, " \t\r\n") {
		return name
	}
	return "localhost"
}
