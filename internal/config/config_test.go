package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

func noEnv(string) string { return "" }

func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yml")
	if len(files) == 0 {
		t.Fatal("no good files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f, noEnv); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func TestBadFiles(t *testing.T) {
	want := map[string]string{
		"listen.bad.yml":             `config: listen: Give host:port, such as 127.0.0.1:8080 (got "localhost").`,
		"unknown-key.bad.yml":        "config: testdata/unknown-key.bad.yml, line 1: There is no key lisen here: check its spelling and its indentation.",
		"batch.bad.yml":              "config: pipeline.batch_size: Give a number from 1 to 100000 (got 0).",
		"duplicate-feed.bad.yml":     `config: feeds[1].name: The feed "a" is defined twice.`,
		"tlp.bad.yml":                "config: feeds[0].tlp: Choose CLEAR, GREEN, AMBER, AMBER+STRICT or RED.",
		"database.bad.yml":           "config: database: Leave it empty for SQLite in the data directory, or give a postgres:// URL.",
		"workers-type.bad.yml":       `config: testdata/workers-type.bad.yml, line 2: "many" is not a whole number.`,
		"cache.bad.yml":              "config: sqlite.cache_mib: Give a number from 2 to 65536 (got 1).",
		"site-language.bad.yml":      `config: site.languages: Name each of en, nl, fr, de at most once (got "es").`,
		"site-contact.bad.yml":       `config: site.contacts[1]: Give a mailto:, tel: or https:// URI (got "cert@cert.example").`,
		"site-expires.bad.yml":       "config: site.security_txt_validity: Give 24h to 8760h: RFC 9116 allows a year at most (got 9000h0m0s).",
		"notify-from.bad.yml":        "config: notify.from: Required when notifications are enabled: the address notifications are sent from.",
		"notify-relay.bad.yml":       "config: smtp.host: Missing: the name or address of the SMTP relay.",
		"smtp-tls.bad.yml":           "config: smtp.tls: Without TLS, mail and passwords travel in clear: use none only for a relay on 127.0.0.1, ::1 or localhost.",
		"dead-letters-count.bad.yml": "config: pipeline.dead_letters.max_per_input: Give a number from 1 to 10000000 (got 0).",
		"dead-letters-bytes.bad.yml": "config: pipeline.dead_letters.max_bytes_per_input: Give a size in bytes from 65536 (64 KiB) to 17179869184 (16 GiB) (got 1000).",

		"tls-cert-without-key.bad.yml": "config: tls.key_file: Missing: cert_file needs its private key in key_file.",
		"tls-key-without-cert.bad.yml": "config: tls.cert_file: Missing: key_file needs its certificate in cert_file.",
		"tls-unreadable.bad.yml":       "config: tls.cert_file: testdata/tls/missing.pem does not exist.",
		"tls-mismatch.bad.yml":         "config: tls.cert_file: testdata/tls/cert.pem and testdata/tls/other-key.pem are not a certificate and its private key: tls: private key does not match public key",
		"tls-both.bad.yml":             "config: tls.acme: Use either cert_file and key_file or acme, not both.",
		"acme-no-domains.bad.yml":      "config: tls.acme.domains: Name the domains to request certificates for.",
		"acme-directory.bad.yml":       `config: tls.acme.directory_url: Give an https:// URL (got "http://acme.example/directory").`,
		"redirect-without-tls.bad.yml": "config: tls.redirect_listen: This redirects to HTTPS, which needs cert_file and key_file, or acme.",
		"trusted-proxies.bad.yml":      `config: http.trusted_proxies[1]: "10.0.0.0/33": give an address or a network, such as 10.0.0.0/8.`,
		"hsts.bad.yml":                 `config: http.hsts: Give "max-age=SECONDS[; includeSubDomains][; preload]" or "off" (got "includeSubDomains").`,
		"http-timeout.bad.yml":         "config: http.write_timeout: Give a duration of at least 1s (got 0s).",
		"mail-in-recipient.bad.yml":    `config: mail_in.recipients[1]: "not an address": give an address (report@cert.example) or a local part (report@).`,
		"mail-in-size.bad.yml":         "config: mail_in.max_message_bytes: Give a number from 65536 to 1073741824 (got 100).",
		"mail-in-listen.bad.yml":       `config: mail_in.listen: Give host:port, such as :25 (got "25").`,
		"mail-in-cert.bad.yml":         "config: mail_in.cert_file: Set both cert_file and key_file, or neither.",
		"alerts-type.bad.yml":          `config: incident_alerts.rules[1].type: "scan" is not a classification type.`,
		"alerts-nothing.bad.yml":       "config: incident_alerts.rules[0].type: Set a taxonomy or a type: a rule without either would raise an alert for every event.",
		"alerts-severity.bad.yml":      `config: incident_alerts.rules[0].severity: Give low, medium, high or critical (got "urgent").`,
		"social-webhook.bad.yml":       `config: social.webhooks[1].name: "chat" is named twice.`,
		"newsletter-relay.bad.yml":     "config: newsletter.enabled: The newsletter is sent through the SMTP relay: set the smtp section.",
		"newsletter-digest.bad.yml":    `config: newsletter.digest.weekday: Give a day of the week, monday to sunday (got "someday").`,
		"newsletter-language.bad.yml":  `config: newsletter.languages: "es" is not a supported language, or is named twice.`,
		"notify-gzip.bad.yml":          "config: notify.gzip_above_bytes: Give 0 (never compress) or a size in bytes (got -1).",
		"log-level.bad.yml":            `config: log.level: Choose debug, info, warn or error (got "verbose").`,
		"yaml-syntax.bad.yml":          "config: testdata/yaml-syntax.bad.yml, line 1: This is not valid YAML: did not find expected ',' or ']'",
		"yaml-twice.bad.yml":           "config: testdata/yaml-twice.bad.yml, line 2: The key listen is written twice (first on line 1).",
		"yaml-section.bad.yml":         "config: testdata/yaml-section.bad.yml, line 1: Give a section here, its keys indented on the lines below, not a single value.",
		"yaml-duration.bad.yml":        `config: testdata/yaml-duration.bad.yml, line 2: "soon" is not a duration: give one such as 30s, 5m or 24h.`,
		"yaml-list.bad.yml":            `config: testdata/yaml-list.bad.yml, line 1: Give a list here: one item a line, each starting with "- ".`,
	}
	files, _ := filepath.Glob("testdata/*.bad.yml")
	if len(files) != len(want) {
		t.Fatalf("%d bad files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f, noEnv)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), want[filepath.Base(f)]) {
				t.Fatalf("error %q, want it to contain %q", err, want[filepath.Base(f)])
			}
		})
	}
}

func TestFullFileValues(t *testing.T) {
	cfg, err := Load("testdata/full.good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Feeds) != 2 || cfg.Feeds[1].KeepsRaw() || !cfg.Feeds[0].KeepsRaw() {
		t.Fatalf("feeds not read as written: %+v", cfg.Feeds)
	}
	if cfg.Pipeline.Workers != 4 || len(cfg.Pipeline.Enrichers) != 4 {
		t.Fatalf("pipeline not read: %+v", cfg.Pipeline)
	}
	if dl := cfg.Pipeline.DeadLetters; dl.MaxLetters != 5000 || dl.MaxBytes != 64<<20 {
		t.Fatalf("pipeline.dead_letters not read: %+v", dl)
	}
	if w, _ := cfg.Pipeline.Enrichers[2].Options.Duration("window", 0); w.Hours() != 48 {
		t.Fatalf("dedup window %v", w)
	}
	if !cfg.Notify.Enabled || cfg.Notify.TimeZone != "Europe/Brussels" || cfg.Notify.Interval.Minutes() != 2 ||
		cfg.Notify.MaxEventsPerMessage != 20000 || cfg.Notify.TableRows != 10 {
		t.Fatalf("notify not read over its defaults: %+v", cfg.Notify)
	}
	if cfg.SMTP.Host != "smtp.example.org" || cfg.SMTP.MaxAttempts != 12 || cfg.SMTP.Timeout.Seconds() != 30 {
		t.Fatalf("smtp not read over its defaults: %+v", cfg.SMTP)
	}
	if cfg.Constituency.Reload.Seconds() != 30 {
		t.Fatalf("constituency.reload %v", cfg.Constituency.Reload)
	}
}

func TestTLSAndHTTPValues(t *testing.T) {
	cfg, err := Load("testdata/tls-files.good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TLS.Enabled() || cfg.TLS.ACME.Enabled() || cfg.TLS.RedirectListen != "0.0.0.0:80" {
		t.Fatalf("tls %+v", cfg.TLS)
	}
	if cfg.HTTP.WriteTimeout.Minutes() != 2 || cfg.HTTP.MaxUploadBytes != 64<<20 || cfg.HTTP.ReadTimeout != DefaultHTTP().ReadTimeout {
		t.Fatalf("http not read over its defaults: %+v", cfg.HTTP)
	}
	cfg, err = Load("testdata/tls-acme.good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TLS.ACME.Enabled() || len(cfg.TLS.ACME.Domains) != 2 || cfg.TLS.ACME.CacheDir != "/var/lib/vigil/acme" {
		t.Fatalf("acme %+v", cfg.TLS.ACME)
	}
	cfg, err = Load("testdata/behind-proxy.good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := cfg.HTTP.Proxies()
	if err != nil || len(proxies) != 3 || proxies[0].String() != "127.0.0.1/32" || proxies[1].String() != "::1/128" || proxies[2].String() != "10.20.0.0/16" {
		t.Fatalf("trusted proxies %v %v", proxies, err)
	}
	if cfg.TLS.Enabled() {
		t.Fatal("TLS on without a certificate source")
	}
	if def := Default(); def.TLS.Enabled() || len(def.HTTP.TrustedProxies) != 0 || def.HTTP.HSTS != "max-age=31536000; includeSubDomains" {
		t.Fatalf("defaults: %+v %+v", def.TLS, def.HTTP)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	env := map[string]string{"VIGIL_LISTEN": "127.0.0.1:7000", "VIGIL_DATA": "/tmp/x", "VIGIL_PIPELINE_WORKERS": "3"}
	cfg, err := Load("testdata/minimal.good.yml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7000" || cfg.Data != "/tmp/x" || cfg.Pipeline.Workers != 3 {
		t.Fatalf("env not applied: %+v", cfg)
	}
	env["VIGIL_TRUSTED_PROXIES"] = "127.0.0.1,10.0.0.0/8"
	env["VIGIL_TLS_CERT_FILE"] = "testdata/tls/cert.pem"
	env["VIGIL_TLS_KEY_FILE"] = "testdata/tls/key.pem"
	if cfg, err = Load("", func(k string) string { return env[k] }); err != nil || len(cfg.HTTP.TrustedProxies) != 2 || !cfg.TLS.Enabled() {
		t.Fatalf("tls and proxy env not applied: %+v %+v %v", cfg.TLS, cfg.HTTP.TrustedProxies, err)
	}
	env["VIGIL_PIPELINE_WORKERS"] = "x"
	if _, err := Load("", func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "VIGIL_PIPELINE_WORKERS") {
		t.Fatalf("bad env var not reported: %v", err)
	}
}

func TestDefaultIsValid(t *testing.T) {
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Feeds) != 1 || cfg.Feeds[0].Parser != "auto" {
		t.Fatalf("default feeds %+v", cfg.Feeds)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yml"), noEnv)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestEmptyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty.yml")
	os.WriteFile(p, nil, 0o600)
	if _, err := Load(p, noEnv); err != nil {
		t.Fatal(err)
	}
}

// TestMailInIMAPPasswordFromEnv: the mailbox's password may stay out of
// the file.
func TestMailInIMAPPasswordFromEnv(t *testing.T) {
	env := func(k string) string {
		if k == "VIGIL_MAIL_IN_IMAP_PASSWORD" {
			return "from-env"
		}
		return ""
	}
	cfg, err := Load("testdata/mail-in.good.yml", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MailIn.IMAP.Password != "from-env" || cfg.MailIn.Listen != "127.0.0.1:2525" || len(cfg.MailIn.Recipients) != 3 {
		t.Errorf("mail_in = %+v", cfg.MailIn)
	}
}

// TestIncidentAlerts: the rules are read, and a bad one is refused at its
// key with an explanation in the reader's language.
func TestIncidentAlerts(t *testing.T) {
	cfg, err := Load("testdata/alerts.good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.IncidentAlerts
	if a.Interval != 2*time.Second || len(a.Rules) != 2 || a.Rules[0].Severity != "high" || a.Rules[1].MinCount != 10 ||
		a.Rules[1].Constituent != "acme" || a.Rules[1].Feed != "Shadowserver scan_rdp" {
		t.Errorf("incident_alerts = %+v", a)
	}
	if d := Default(); d.IncidentAlerts.Enabled() || d.IncidentAlerts.Every() != 5*time.Second || a.Every() != 2*time.Second {
		t.Errorf("default incident_alerts = %+v", d.IncidentAlerts)
	}
	_, err = Load("testdata/alerts-type.bad.yml", noEnv)
	m, ok := i18n.Explain(err)
	if !ok {
		t.Fatalf("%v does not explain itself", err)
	}
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{"en": "is not a classification type", "nl": "is geen classificatietype",
		"fr": "n'est pas un type de classification", "de": "ist kein Klassifizierungstyp"} {
		if got := m.In(c, lang); !strings.Contains(got, want) || !strings.Contains(got, "incident_alerts.rules[1].type") {
			t.Errorf("%s: %q, want the key and %q", lang, got, want)
		}
	}
}
