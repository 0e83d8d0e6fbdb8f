package channel

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// Config is the social channels and the publication outbox's retries
// (the social: section of the configuration file). A channel without
// its section is off.
type Config struct {
	// SiteURL is the public site the posts link to ({site_url}/{lang}/p/
	// {ident}); empty: the site's address (site.base_url).
	SiteURL  string          `yaml:"site_url"`
	Mastodon *MastodonConfig `yaml:"mastodon"`
	Bluesky  *BlueskyConfig  `yaml:"bluesky"`
	Webhooks []WebhookConfig `yaml:"webhooks"`
	// Retry applies to every channel of the publication outbox, the
	// newsletter's and the constituents' included.
	Retry Retry `yaml:"retry"`
	// Poll is how often the outbox looks for due deliveries (default
	// 15s); publishing in this process wakes it at once.
	Poll time.Duration `yaml:"poll"`
	// Timeout bounds one request to a channel (default 30s).
	Timeout time.Duration `yaml:"timeout"`
}

// Target is what every social channel has: the languages it posts in
// (empty: every language a publication is written in, one post each)
// and the kinds it posts (empty: advisories, warnings and news).
type Target struct {
	Languages []string           `yaml:"languages"`
	Kinds     []publication.Kind `yaml:"kinds"`
}

// MastodonConfig posts to a Mastodon account.
type MastodonConfig struct {
	// Instance is the server's address, such as https://mastodon.social.
	Instance string `yaml:"instance"`
	// Token is the application's access token (scope write:statuses).
	Token  Secret `yaml:"token"`
	Target `yaml:",inline"`
}

// BlueskyConfig posts to a Bluesky (AT Protocol) account.
type BlueskyConfig struct {
	// Service is the account's PDS (default https://bsky.social).
	Service string `yaml:"service"`
	// Identifier is the account's handle or DID.
	Identifier string `yaml:"identifier"`
	// AppPassword is an app password made for Vigil in the account's
	// settings, not the account's password.
	AppPassword Secret `yaml:"app_password"`
	Target      `yaml:",inline"`
}

// WebhookConfig posts a JSON document to a URL, signed with a shared
// secret: for bridges to other networks. Its channel is webhook:<name>.
type WebhookConfig struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Secret Secret `yaml:"secret"`
	Target `yaml:",inline"`
}

// DefaultConfig is the configuration without a social: section: no
// channel, the default retries.
func DefaultConfig() Config {
	return Config{Retry: DefaultRetry(), Poll: 15 * time.Second, Timeout: 30 * time.Second}
}

// Secret is a secret in the configuration: a reference env:NAME (the
// environment variable NAME) or file:PATH (the file's content, without
// the line break at its end), or the value itself, which is better
// avoided. It never prints: String and LogValue give "[secret]".
type Secret string

// String hides the secret.
func (s Secret) String() string { return "[secret]" }

// LogValue hides the secret from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[secret]") }

// Resolve returns the secret's value, reading what it references.
func (s Secret) Resolve(getenv func(string) string) (string, error) {
	v := string(s)
	switch {
	case strings.HasPrefix(v, "env:"):
		name := strings.TrimPrefix(v, "env:")
		if getenv == nil {
			getenv = os.Getenv
		}
		out := getenv(name)
		if out == "" {
			return "", &SecretError{Message: i18n.M("channel.secret.env", name)}
		}
		return out, nil
	case strings.HasPrefix(v, "file:"):
		path := strings.TrimPrefix(v, "file:")
		raw, err := os.ReadFile(path)
		if err != nil {
			return "", &SecretError{Message: i18n.FileProblem(path, err), Err: err}
		}
		out := strings.TrimRight(string(raw), "\r\n")
		if out == "" {
			return "", &SecretError{Message: i18n.M("channel.secret.fileempty", path)}
		}
		return out, nil
	case v == "":
		return "", &SecretError{Message: i18n.M("channel.secret.unset")}
	}
	return v, nil
}

// SecretError is a secret that cannot be resolved, by catalogue ID for
// the reader's language; Error says it in English.
type SecretError struct {
	Message i18n.Message
	Err     error // the file's error, for errors.Is
}

func (e *SecretError) Error() string { return e.Message.String() }
func (e *SecretError) Unwrap() error { return e.Err }

// secretProblem is the problem of the secret at key (relative to
// social:), as a *FieldError.
func secretProblem(key string, err error) error {
	var se *SecretError
	if errors.As(err, &se) {
		return &FieldError{Key: key, Message: se.Message}
	}
	return fmt.Errorf("social.%s: %w", key, err)
}

// FieldError is a configuration key of the social: section that is
// wrong, by catalogue ID (Message) for the reader's language; Error says
// it in English.
type FieldError struct {
	Key     string // relative to social:, such as mastodon.instance
	Message i18n.Message
}

func (e *FieldError) Error() string { return "social." + e.Key + ": " + e.Message.String() }

// Explain is the error in the reader's language, naming the key as a
// configuration error does: `vigil serve` says it on start-up.
func (e *FieldError) Explain() i18n.Message {
	return i18n.M("config.error.at", "social."+e.Key, e.Message)
}

var webhookName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,39}$`)

// Validate checks the section; secrets are resolved when the senders are
// made (NewSenders), where the environment is at hand.
func (c *Config) Validate() error {
	bad := func(key string, m i18n.Message) error {
		return &FieldError{Key: key, Message: m}
	}
	if c.SiteURL != "" {
		if err := checkURL(c.SiteURL); err != nil {
			return bad("site_url", i18n.M("config.error.httpurl", c.SiteURL))
		}
	}
	if c.Retry.Attempts < 1 || c.Retry.Attempts > 100 {
		return bad("retry.attempts", i18n.M("config.error.range", 1, 100, c.Retry.Attempts))
	}
	if c.Retry.Backoff < time.Second || c.Retry.MaxBackoff < c.Retry.Backoff {
		return bad("retry.backoff", i18n.M("config.error.social.backoff"))
	}
	if c.Poll < time.Second {
		return bad("poll", i18n.M("config.error.duration.atleast", "1s", c.Poll.String()))
	}
	if c.Timeout < time.Second {
		return bad("timeout", i18n.M("config.error.duration.atleast", "1s", c.Timeout.String()))
	}
	if m := c.Mastodon; m != nil {
		if err := checkURL(m.Instance); err != nil {
			return bad("mastodon.instance", i18n.M("config.error.httpurl", m.Instance))
		}
		if m.Token == "" {
			return bad("mastodon.token", i18n.M("config.error.social.token"))
		}
		if err := m.Target.validate("mastodon"); err != nil {
			return err
		}
	}
	if b := c.Bluesky; b != nil {
		if b.Service != "" {
			if err := checkURL(b.Service); err != nil {
				return bad("bluesky.service", i18n.M("config.error.httpurl", b.Service))
			}
		}
		if b.Identifier == "" {
			return bad("bluesky.identifier", i18n.M("config.error.social.identifier"))
		}
		if b.AppPassword == "" {
			return bad("bluesky.app_password", i18n.M("config.error.social.apppassword"))
		}
		if err := b.Target.validate("bluesky"); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, w := range c.Webhooks {
		key := fmt.Sprintf("webhooks[%d]", i)
		if !webhookName.MatchString(w.Name) {
			return bad(key+".name", i18n.M("config.error.social.webhookname", w.Name))
		}
		if seen[w.Name] {
			return bad(key+".name", i18n.M("config.error.social.twice", w.Name))
		}
		seen[w.Name] = true
		if err := checkURL(w.URL); err != nil {
			return bad(key+".url", i18n.M("config.error.httpurl", w.URL))
		}
		if w.Secret == "" {
			return bad(key+".secret", i18n.M("config.error.social.secret"))
		}
		if err := w.Target.validate(key); err != nil {
			return err
		}
	}
	return nil
}

func (t Target) validate(key string) error {
	for _, l := range t.Languages {
		if len(l) != 2 || strings.ToLower(l) != l {
			return &FieldError{Key: key + ".languages", Message: i18n.M("config.error.social.language", l)}
		}
	}
	for _, k := range t.Kinds {
		if !k.Valid() {
			return &FieldError{Key: key + ".kinds", Message: i18n.M("config.error.social.kind", string(k))}
		}
	}
	return nil
}

// checkURL accepts an absolute http or https URL.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL, got %q", raw)
	}
	return nil
}

// defaultKinds are what a social channel posts unless told otherwise:
// the weekly digest is the newsletter's.
var defaultKinds = []publication.Kind{publication.KindAdvisory, publication.KindWarning, publication.KindNews}

// spec is the channel's ChannelSpec: one delivery per language (of
// Languages, or every one), for what is public and of its kinds.
func (t Target) spec(name string) publication.ChannelSpec {
	kinds := t.Kinds
	if len(kinds) == 0 {
		kinds = defaultKinds
	}
	kinds = slices.Clone(kinds)
	var langs []string
	if len(t.Languages) > 0 {
		langs = slices.Clone(t.Languages)
	}
	return publication.ChannelSpec{Name: name, PerLanguage: true, Languages: langs,
		Accepts: func(p *publication.Publication) bool { return p.Public() && slices.Contains(kinds, p.Kind) }}
}

// Specs lists the configured social channels, for the publication
// service's Channels (beside publication.DefaultChannels).
func Specs(c Config) []publication.ChannelSpec {
	var out []publication.ChannelSpec
	if c.Mastodon != nil {
		out = append(out, c.Mastodon.Target.spec(MastodonChannel))
	}
	if c.Bluesky != nil {
		out = append(out, c.Bluesky.Target.spec(BlueskyChannel))
	}
	for _, w := range c.Webhooks {
		out = append(out, w.Target.spec(WebhookChannel(w.Name)))
	}
	return out
}

// NewSenders makes the senders of the configured social channels,
// resolving their secrets with getenv. client is the HTTP client they
// share (nil: one with c.Timeout).
func NewSenders(c Config, siteURL string, getenv func(string) string, client *http.Client) ([]Sender, error) {
	if c.SiteURL != "" {
		siteURL = c.SiteURL
	}
	if client == nil {
		// A redirect is answered, not followed: Go would repeat a POST
		// as a GET, whose 200 (a login page) would pass for a post.
		client = &http.Client{Timeout: c.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if siteURL == "" && (c.Mastodon != nil || c.Bluesky != nil || len(c.Webhooks) > 0) {
		return nil, &FieldError{Key: "site_url", Message: i18n.M("channel.config.siteurl")}
	}
	var out []Sender
	if m := c.Mastodon; m != nil {
		token, err := m.Token.Resolve(getenv)
		if err != nil {
			return nil, secretProblem("mastodon.token", err)
		}
		out = append(out, &Mastodon{Instance: m.Instance, Token: token, SiteURL: siteURL, Client: client})
	}
	if b := c.Bluesky; b != nil {
		password, err := b.AppPassword.Resolve(getenv)
		if err != nil {
			return nil, secretProblem("bluesky.app_password", err)
		}
		out = append(out, &Bluesky{Service: b.Service, Identifier: b.Identifier, AppPassword: password, SiteURL: siteURL, Client: client})
	}
	for i, w := range c.Webhooks {
		secret, err := w.Secret.Resolve(getenv)
		if err != nil {
			return nil, secretProblem(fmt.Sprintf("webhooks[%d].secret", i), err)
		}
		out = append(out, &Webhook{Hook: w.Name, URL: w.URL, Secret: []byte(secret), SiteURL: siteURL, Client: client})
	}
	return out, nil
}
