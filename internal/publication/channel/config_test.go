package channel

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

func validConfig() Config {
	c := DefaultConfig()
	c.Mastodon = &MastodonConfig{Instance: "https://social.example", Token: "env:MASTODON_TOKEN", Target: Target{Languages: []string{"nl", "fr"}}}
	c.Bluesky = &BlueskyConfig{Identifier: "cert.example", AppPassword: "file:/run/secrets/bsky"}
	c.Webhooks = []WebhookConfig{{Name: "matrix", URL: "https://bridge.example/hook", Secret: "env:HOOK", Target: Target{Kinds: []publication.Kind{publication.KindWarning}}}}
	return c
}

func TestConfigValidate(t *testing.T) {
	if c := DefaultConfig(); c.Validate() != nil {
		t.Errorf("the default: %v", c.Validate())
	}
	if c := validConfig(); c.Validate() != nil {
		t.Errorf("a valid one: %v", c.Validate())
	}
	for _, tc := range []struct {
		key    string
		change func(*Config)
	}{
		{"social.mastodon.instance", func(c *Config) { c.Mastodon.Instance = "social.example" }},
		{"social.mastodon.token", func(c *Config) { c.Mastodon.Token = "" }},
		{"social.mastodon.languages", func(c *Config) { c.Mastodon.Languages = []string{"Dutch"} }},
		{"social.bluesky.identifier", func(c *Config) { c.Bluesky.Identifier = "" }},
		{"social.bluesky.app_password", func(c *Config) { c.Bluesky.AppPassword = "" }},
		{"social.bluesky.service", func(c *Config) { c.Bluesky.Service = "ftp://pds" }},
		{"social.webhooks[0].name", func(c *Config) { c.Webhooks[0].Name = "Has Spaces" }},
		{"social.webhooks[1].name", func(c *Config) { c.Webhooks = append(c.Webhooks, c.Webhooks[0]) }},
		{"social.webhooks[0].url", func(c *Config) { c.Webhooks[0].URL = "" }},
		{"social.webhooks[0].secret", func(c *Config) { c.Webhooks[0].Secret = "" }},
		{"social.webhooks[0].kinds", func(c *Config) { c.Webhooks[0].Kinds = []publication.Kind{"tweet"} }},
		{"social.retry.attempts", func(c *Config) { c.Retry.Attempts = 0 }},
		{"social.retry.backoff", func(c *Config) { c.Retry.MaxBackoff = time.Millisecond }},
		{"social.poll", func(c *Config) { c.Poll = 0 }},
		{"social.site_url", func(c *Config) { c.SiteURL = "/relative" }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			c := validConfig()
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.key+": ") {
				t.Errorf("Validate = %v, want an error at %s", err, tc.key)
			}
		})
	}
}

// TestSecretProblemsInEveryLanguage: a secret that cannot be resolved
// when the senders are made (`vigil serve` starting) names its key and
// says why in each language, a sentence of that language.
func TestSecretProblemsInEveryLanguage(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	site := "https://cert.example"
	for _, tt := range []struct {
		name, site string
		cfg        Config
		key, en    string
	}{
		{"empty variable", site, Config{Mastodon: &MastodonConfig{Instance: "https://m.example", Token: "env:VIGIL_TEST_TOKEN"}},
			"mastodon.token", "The environment variable VIGIL_TEST_TOKEN is empty or not set."},
		{"missing file", site, Config{Bluesky: &BlueskyConfig{Service: "https://bsky.social", Identifier: "cert.example", AppPassword: Secret("file:" + filepath.Join(dir, "none"))}},
			"bluesky.app_password", filepath.Join(dir, "none") + " does not exist."},
		{"empty file", site, Config{Webhooks: []WebhookConfig{{Name: "chat", URL: "https://hook.example", Secret: Secret("file:" + empty)}}},
			"webhooks[0].secret", "The file " + empty + " holding the secret is empty."},
		{"no secret", site, Config{Webhooks: []WebhookConfig{{Name: "chat", URL: "https://hook.example"}}},
			"webhooks[0].secret", "Not set: give the secret as env:NAME or file:PATH."},
		{"no site", "", Config{Webhooks: []WebhookConfig{{Name: "chat", URL: "https://hook.example", Secret: "s"}}},
			"site_url", "Missing: the posts link to the public site; set social.site_url or public_url."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSenders(tt.cfg, tt.site, func(string) string { return "" }, nil)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Key != tt.key {
				t.Fatalf("NewSenders = %v, want a *FieldError at %s", err, tt.key)
			}
			if want := "social." + tt.key + ": " + tt.en; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err, want)
			}
			m, ok := i18n.Explain(err)
			if !ok {
				t.Fatalf("%v does not explain itself", err)
			}
			english := fe.Message.In(c, "en")
			for _, lang := range []string{"nl", "fr", "de"} {
				got, sentence := m.In(c, lang), fe.Message.In(c, lang)
				if sentence == english || sentence == fe.Message.ID || !strings.Contains(got, "social."+tt.key) {
					t.Errorf("%s: %q", lang, got)
				}
			}
		})
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("from-the-file\n"), 0o600)
	env := map[string]string{"TOKEN": "from-the-env"}
	for ref, want := range map[Secret]string{"env:TOKEN": "from-the-env", Secret("file:" + file): "from-the-file", "plain": "plain"} {
		if got, err := ref.Resolve(func(k string) string { return env[k] }); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v", string(ref), got, err)
		}
	}
	for _, ref := range []Secret{"env:MISSING", Secret("file:" + filepath.Join(dir, "none")), ""} {
		if _, err := ref.Resolve(func(string) string { return "" }); err == nil {
			t.Errorf("Resolve(%q) did not fail", string(ref))
		}
	}
	// A secret never prints, neither with fmt nor in the log.
	s := Secret("hunter2")
	var log bytes.Buffer
	slog.New(slog.NewTextHandler(&log, nil)).Info("x", "token", s, "config", MastodonConfig{Token: s})
	if out := fmt.Sprint(s) + fmt.Sprintf("%v %+v", MastodonConfig{Token: s}, BlueskyConfig{AppPassword: s}) + log.String(); strings.Contains(out, "hunter2") {
		t.Errorf("the secret shows: %s", out)
	}
}

func TestSpecsAndSenders(t *testing.T) {
	c := validConfig()
	specs := Specs(c)
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"mastodon", "bluesky", "webhook:matrix"}) {
		t.Fatalf("names %v", names)
	}
	// The service queues what the specs say: Mastodon in Dutch and
	// French, Bluesky in each language, the webhook warnings only.
	svc := &publication.Service{Channels: specs}
	queued := func(p publication.Publication) (out []string) {
		for _, d := range svc.Deliveries(&p, time.Now()) {
			out = append(out, d.Channel+"/"+d.Lang+"/"+d.Status)
		}
		return out
	}
	p := advisory(1)
	if got := queued(p); !slices.Equal(got, []string{"mastodon/nl/queued", "mastodon/fr/queued",
		"bluesky/en/queued", "bluesky/nl/queued", "bluesky/fr/queued", "webhook:matrix/en/skipped", "webhook:matrix/nl/skipped", "webhook:matrix/fr/skipped"}) {
		t.Errorf("an advisory: %v", got)
	}
	for _, tlp := range []publication.TLP{publication.TLPGreen, publication.TLPAmber, publication.TLPAmberStrict, publication.TLPRed} {
		p.TLP = tlp
		for _, d := range queued(p) {
			if !strings.HasSuffix(d, "/skipped") {
				t.Errorf("TLP:%s: %s", tlp, d)
			}
		}
	}
	p = advisory(1)
	p.Kind = publication.KindDigest
	for _, d := range queued(p) {
		if !strings.HasSuffix(d, "/skipped") {
			t.Errorf("the digest goes out by default: %s", d)
		}
	}

	secret := filepath.Join(t.TempDir(), "bsky")
	os.WriteFile(secret, []byte("app-pass"), 0o600)
	c.Bluesky.AppPassword = Secret("file:" + secret)
	env := func(k string) string { return map[string]string{"MASTODON_TOKEN": "mt", "HOOK": "hk"}[k] }
	senders, err := NewSenders(c, "https://cert.example", env, nil)
	if err != nil || len(senders) != 3 {
		t.Fatalf("NewSenders: %d, %v", len(senders), err)
	}
	if m := senders[0].(*Mastodon); m.Token != "mt" || m.SiteURL != "https://cert.example" {
		t.Errorf("mastodon %+v", m)
	}
	if b := senders[1].(*Bluesky); b.AppPassword != "app-pass" {
		t.Errorf("bluesky %+v", b)
	}
	if _, err := NewSenders(c, "https://cert.example", func(string) string { return "" }, nil); err == nil || !strings.Contains(err.Error(), "social.mastodon.token") {
		t.Errorf("a missing secret: %v", err)
	}
	if _, err := NewSenders(c, "", env, nil); err == nil || !strings.Contains(err.Error(), "social.site_url") {
		t.Errorf("no site to link to: %v", err)
	}
}

// TestRedirectIsNotAPost: a webhook that answers a post with a redirect
// (to a login page that would answer a GET with 200) has not taken it:
// the senders NewSenders makes do not follow, and the post is retried.
func TestRedirectIsNotAPost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			w.Write([]byte("<html>log in</html>"))
			return
		}
		http.Redirect(w, r, "/login", http.StatusFound)
	}))
	defer srv.Close()
	c := DefaultConfig()
	c.Webhooks = []WebhookConfig{{Name: "bridge", URL: srv.URL + "/hook", Secret: "env:HOOK"}}
	senders, err := NewSenders(c, "https://cert.example", func(string) string { return "s3cret" }, nil)
	if err != nil || len(senders) != 1 {
		t.Fatalf("NewSenders: %v, %v", senders, err)
	}
	p := advisory(1)
	_, err = senders[0].Send(t.Context(), p, publication.Delivery{ID: 1, PublicationID: 1, Revision: 1, Channel: "webhook:bridge", Lang: "en"})
	var se *SendError
	if !errors.As(err, &se) || se.Status != http.StatusFound || se.Permanent {
		t.Fatalf("a redirect answered %v, want a retryable SendError of status 302", err)
	}
}
