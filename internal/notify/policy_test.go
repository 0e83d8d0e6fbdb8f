package notify

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
)

func TestConfigValidate(t *testing.T) {
	if err := (&Config{}).Validate(); err == nil {
		t.Error("the zero Config passed")
	}
	def := DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"interval", func(c *Config) { c.Interval = 0 }},
		{"window", func(c *Config) { c.Window = time.Second }},
		{"from", func(c *Config) { c.Enabled = true }},
		{"from", func(c *Config) { c.From = "not an address" }},
		{"max_events_per_message", func(c *Config) { c.MaxEventsPerMessage = 0 }},
		{"max_attachment_bytes", func(c *Config) { c.MaxAttachmentBytes = 1000 }},
		{"gzip_above_bytes", func(c *Config) { c.GzipAboveBytes = -1 }},
		{"table_rows", func(c *Config) { c.TableRows = -1 }},
		{"digest_time", func(c *Config) { c.DigestTime = "6:00" }},
		{"digest_time", func(c *Config) { c.DigestTime = "25:00" }},
		{"time_zone", func(c *Config) { c.TimeZone = "Europe/Atlantis" }},
		{"time_zone", func(c *Config) { c.TimeZone = "" }},
		{"portal_url", func(c *Config) { c.PortalURL = "portal.example.org" }},
		{"workers", func(c *Config) { c.Workers = -1 }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		var fe *FieldError
		if err := c.Validate(); !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: got %v, want an error on %s", c, err, tt.field)
		}
	}
	good := DefaultConfig()
	good.Enabled, good.From, good.TimeZone, good.DigestTime = true, "CERT <cert@example.org>", "Europe/Brussels", "07:30"
	if err := good.Validate(); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestEffective(t *testing.T) {
	org := constituency.Organisation{ID: 4, Handle: "uni", Language: "nl"}
	t.Run("nothing configured", func(t *testing.T) {
		p := Effective(org, nil, DefaultPolicy())
		if !p.Enabled || p.Digest != DigestDaily || p.Format != FormatSummary || p.Language != "nl" ||
			len(p.Types)+len(p.Taxonomies)+len(p.Feeds)+len(p.Immediate) != 0 || p.OrgID != 4 {
			t.Errorf("%+v", p)
		}
	})
	t.Run("team default", func(t *testing.T) {
		team := Policy{Enabled: true, Types: []string{"phishing"}, Digest: DigestHourly, Format: FormatXARF, Language: "fr"}
		p := Effective(org, nil, team)
		if p.Digest != DigestHourly || p.Format != FormatXARF || p.Language != "fr" || len(p.Types) != 1 {
			t.Errorf("%+v", p)
		}
	})
	t.Run("own replaces the default as a whole", func(t *testing.T) {
		team := Policy{Enabled: true, Types: []string{"phishing"}, Format: FormatXARF}
		own := Policy{OrgID: 4, Enabled: true}
		p := Effective(org, &own, team)
		if len(p.Types) != 0 || p.Format != FormatSummary || p.Digest != DigestDaily || p.Language != "nl" {
			t.Errorf("%+v", p)
		}
	})
	t.Run("unknown language", func(t *testing.T) {
		p := Effective(constituency.Organisation{Language: "es"}, nil, DefaultPolicy())
		if p.Language != "en" {
			t.Errorf("language %q, want en", p.Language)
		}
	})
}

func TestValidatePolicy(t *testing.T) {
	if err := ValidatePolicy(DefaultPolicy()); err != nil {
		t.Errorf("DefaultPolicy: %v", err)
	}
	good := Policy{Enabled: true, Taxonomies: []string{"vulnerable"}, Types: []string{"ddos-amplifier"},
		Feeds: []string{"shadowserver-scan-dns"}, Immediate: []string{"infected-system"}, Digest: DigestOff, Format: FormatJSON, Language: "de"}
	if err := ValidatePolicy(good); err != nil {
		t.Errorf("good policy: %v", err)
	}
	tests := []struct {
		field string
		p     Policy
	}{
		{"digest", Policy{Digest: "weekly"}},
		{"format", Policy{Format: "pdf"}},
		{"language", Policy{Language: "es"}},
		{"taxonomies", Policy{Taxonomies: []string{"vulnerable", "nonsense"}}},
		{"types", Policy{Types: []string{"vulnerable"}}}, // a taxonomy, not a type
		{"types", Policy{Types: []string{"spam", "spam"}}},
		{"immediate", Policy{Immediate: []string{"open-dns"}}},
		{"feeds", Policy{Feeds: []string{""}}},
		{"digest", Policy{Enabled: true, Digest: DigestOff}},
	}
	for _, tt := range tests {
		err := ValidatePolicy(tt.p)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: got %v, want an error on %s", tt.p, err, tt.field)
		}
	}
	err := ValidatePolicy(Policy{Digest: "weekly", Format: "pdf"})
	if !strings.Contains(err.Error(), "digest") || !strings.Contains(err.Error(), "format") {
		t.Errorf("both problems not reported: %v", err)
	}
}

func makeEvent(t testing.TB, fields map[string]string) *event.Event {
	t.Helper()
	e := event.New(len(fields))
	for _, k := range event.SortedKeys(fields) {
		if err := e.Set(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestMatches(t *testing.T) {
	dns := makeEvent(t, map[string]string{"classification.taxonomy": "vulnerable", "classification.type": "ddos-amplifier", "feed.name": "scan-dns"})
	noTaxonomy := makeEvent(t, map[string]string{"classification.type": "phishing", "feed.name": "phish"})
	tests := []struct {
		name string
		p    Policy
		e    *event.Event
		want bool
	}{
		{"default", DefaultPolicy(), dns, true},
		{"disabled", Policy{}, dns, false},
		{"taxonomy in", Policy{Enabled: true, Taxonomies: []string{"vulnerable"}}, dns, true},
		{"taxonomy out", Policy{Enabled: true, Taxonomies: []string{"fraud"}}, dns, false},
		{"taxonomy from the type", Policy{Enabled: true, Taxonomies: []string{"fraud"}}, noTaxonomy, true},
		{"type in", Policy{Enabled: true, Types: []string{"spam", "ddos-amplifier"}}, dns, true},
		{"type out", Policy{Enabled: true, Types: []string{"spam"}}, dns, false},
		{"feed in", Policy{Enabled: true, Feeds: []string{"scan-dns"}}, dns, true},
		{"feed out", Policy{Enabled: true, Feeds: []string{"scan-ntp"}}, dns, false},
		{"all must hold", Policy{Enabled: true, Types: []string{"ddos-amplifier"}, Feeds: []string{"other"}}, dns, false},
	}
	for _, tt := range tests {
		if got := Matches(tt.p, tt.e); got != tt.want {
			t.Errorf("%s: Matches = %v", tt.name, got)
		}
	}
	p := Policy{Enabled: true, Immediate: []string{"phishing"}}
	if !Immediate(p, noTaxonomy) || Immediate(p, dns) || Immediate(DefaultPolicy(), noTaxonomy) {
		t.Error("Immediate")
	}
}

func TestKey(t *testing.T) {
	base := map[string]string{
		"time.source": "2026-11-19T03:12:44+00:00", "time.observation": "2026-11-19T08:00:00+00:00",
		"classification.taxonomy": "vulnerable", "classification.type": "ddos-amplifier", "classification.identifier": "open-dns",
		"source.ip": "192.0.2.53", "source.port": "53", "protocol.application": "dns", "feed.name": "shadowserver-scan-dns",
		"raw": "YWJj", "extra.tag": `"openresolver"`,
	}
	with := func(edit map[string]string) *event.Event {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range edit {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return makeEvent(t, m)
	}
	k := Key(with(nil))
	t.Run("same observation, another day, another feed", func(t *testing.T) {
		next := with(map[string]string{"time.source": "2026-11-20T02:58:01+00:00", "time.observation": "2026-11-20T08:00:00+00:00",
			"feed.name": "other-scanner", "raw": "eHl6", "extra.tag": `"dns-open"`, "classification.taxonomy": ""})
		if Key(next) != k {
			t.Error("the daily report of the same open resolver has another key")
		}
		if next.Hash() == with(nil).Hash() {
			t.Fatal("test events are equal: the test proves nothing")
		}
	})
	for name, edit := range map[string]map[string]string{
		"another address":    {"source.ip": "192.0.2.54"},
		"another port":       {"source.port": "5353"},
		"another identifier": {"classification.identifier": "open-mdns"},
		"another type":       {"classification.type": "vulnerable-system"},
		"another host name":  {"source.fqdn": "ns.example.org"},
		"another protocol":   {"protocol.application": "mdns"},
	} {
		if Key(with(edit)) == k {
			t.Errorf("%s: same key", name)
		}
	}
	t.Run("activities ignore the client port and the sensor", func(t *testing.T) {
		bot := map[string]string{"classification.type": "infected-system", "classification.identifier": "mirai", "malware.name": "mirai",
			"source.ip": "198.51.100.23", "source.port": "51234", "destination.ip": "203.0.113.5", "destination.port": "23"}
		a := makeEvent(t, bot)
		bot["source.port"], bot["destination.ip"] = "40001", "203.0.113.77"
		b := makeEvent(t, bot)
		if Key(a) != Key(b) {
			t.Error("the same infected host behind another client port has another key")
		}
		bot["destination.port"] = "2323"
		if Key(makeEvent(t, bot)) == Key(a) {
			t.Error("an attack on another service has the same key")
		}
	})
	t.Run("stable", func(t *testing.T) {
		// The key is stored: changing it re-notifies every observation once.
		// Change keyVersion when it has to change, and this value with it.
		if got := Key(with(nil)).String(); got != "c473c3ab3055d6d1e159d672bbfd0bce333f6ca187da1150276210e0db4daf92" {
			t.Errorf("key %s", got)
		}
	})
}

func TestSummary(t *testing.T) {
	tests := []struct {
		fields map[string]string
		want   string
	}{
		{map[string]string{"classification.type": "ddos-amplifier", "classification.identifier": "open-dns", "source.ip": "192.0.2.53", "source.port": "53", "protocol.application": "dns"},
			"ddos-amplifier/open-dns 192.0.2.53:53 (dns)"},
		{map[string]string{"classification.type": "vulnerable-system", "source.ip": "2001:db8::1", "source.port": "443"},
			"vulnerable-system [2001:db8::1]:443"},
		{map[string]string{"classification.type": "infected-system", "classification.identifier": "mirai", "malware.name": "mirai", "source.ip": "198.51.100.23", "source.port": "51234", "destination.port": "23"},
			"infected-system/mirai 198.51.100.23 → :23"},
		{map[string]string{"classification.type": "phishing", "source.url": "https://bad.example/login", "source.ip": "192.0.2.80"},
			"phishing https://bad.example/login"},
		{map[string]string{"classification.type": "system-compromise", "source.fqdn": "www.example.org", "source.ip": "192.0.2.7", "source.port": "80"},
			"system-compromise www.example.org 192.0.2.7:80"},
		{map[string]string{"classification.type": "spam", "source.ip": "192.0.2.1", "event_description.text": "x"}, "spam 192.0.2.1"},
		{map[string]string{"classification.type": "other", "classification.identifier": "line\nbreak"}, "other/line?break"},
	}
	for _, tt := range tests {
		if got := Summary(makeEvent(t, tt.fields)); got != tt.want {
			t.Errorf("Summary = %q, want %q", got, tt.want)
		}
	}
	long := Summary(makeEvent(t, map[string]string{"classification.type": "phishing", "source.url": "https://example.org/" + strings.Repeat("a", 300)}))
	if n := len([]rune(long)); n != maxSummary || !strings.HasSuffix(long, "…") {
		t.Errorf("long summary has %d runes: %q", n, long)
	}
}

func TestDigestBoundary(t *testing.T) {
	brussels, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	at := 6 * time.Hour
	tests := []struct {
		now      time.Time
		schedule string
		want     time.Time
	}{
		{time.Date(2026, 11, 20, 7, 0, 0, 0, brussels), DigestDaily, time.Date(2026, 11, 20, 6, 0, 0, 0, brussels)},
		{time.Date(2026, 11, 20, 5, 59, 0, 0, brussels), DigestDaily, time.Date(2026, 11, 19, 6, 0, 0, 0, brussels)},
		{time.Date(2026, 11, 20, 6, 0, 0, 0, brussels), DigestDaily, time.Date(2026, 11, 20, 6, 0, 0, 0, brussels)},
		{time.Date(2026, 11, 20, 14, 37, 0, 0, brussels), DigestHourly, time.Date(2026, 11, 20, 14, 0, 0, 0, brussels)},
		// 06:00 in Brussels is 05:00 UTC in winter: an instant in UTC works too.
		{time.Date(2026, 11, 20, 5, 30, 0, 0, time.UTC), DigestDaily, time.Date(2026, 11, 20, 6, 0, 0, 0, brussels)},
		// The day clocks go forward, 06:00 still exists.
		{time.Date(2026, 3, 29, 12, 0, 0, 0, brussels), DigestDaily, time.Date(2026, 3, 29, 6, 0, 0, 0, brussels)},
	}
	for _, tt := range tests {
		if got := digestBoundary(tt.now, tt.schedule, at, brussels); !got.Equal(tt.want) {
			t.Errorf("%s at %v: %v, want %v", tt.schedule, tt.now, got, tt.want)
		}
	}
}

// keyByLookup is Key as it was written first, each field looked up by
// name: Key must give the same keys, or every observation would be new
// once.
func keyByLookup(e *event.Event) event.Hash {
	fields := serviceKeyFields[:]
	if activityType(e.Value("classification.type")) {
		fields = activityKeyFields
	}
	b := append([]byte(keyVersion), 0)
	for _, k := range fields {
		v, ok := e.Get(k)
		if !ok {
			continue
		}
		b = append(b, k...)
		b = append(b, 0)
		b = append(b, v...)
		b = append(b, 0)
	}
	return sha256.Sum256(b)
}

// TestKeyAsByLookup: random events of both kinds, each field of the
// keys and a few others present or not, decoded from their records as
// the notifier reads them, give the keys of keyByLookup.
func TestKeyAsByLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	others := []string{"time.source", "feed.name", "extra.a", "raw", "source.asn", "classification.taxonomy", "destination.asn", "zzz.last", "aaa.first"}
	types := []string{"infected-system", "scanner", "vulnerable-system", "ddos-amplifier", "", "phishing"}
	for i := range 2000 {
		m := map[string]string{}
		for _, k := range append(serviceKeyFields[:], others...) {
			if rng.IntN(3) > 0 {
				m[k] = fmt.Sprintf("v%d", rng.IntN(4))
			}
		}
		if typ := types[rng.IntN(len(types))]; typ != "" {
			m["classification.type"] = typ
		} else {
			delete(m, "classification.type")
		}
		e := event.New(len(m))
		for k, v := range m {
			e.SetTrusted(k, v)
		}
		decoded, err := event.DecodeRecord(event.AppendRecord(nil, e))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range []*event.Event{e, decoded} {
			if got, want := Key(ev), keyByLookup(ev); got != want {
				t.Fatalf("event %d %v: key %x, by lookup %x", i, m, got[:4], want[:4])
			}
		}
	}
}

// TestKeyLess: keyLess is the comparison of the strings for every name
// of the keys against keys that share none, some or all of its bytes.
func TestKeyLess(t *testing.T) {
	keys := []string{"", "a", "classification", "classification.type", "classification.typez", "destination.port", "s", "source.ip", "source.i", "zzz"}
	for _, name := range serviceKeyFields {
		for _, key := range append(keys, serviceKeyFields[:]...) {
			if got, want := keyLess(name, key), name < key; got != want {
				t.Errorf("keyLess(%q, %q) = %v, want %v", name, key, got, want)
			}
		}
	}
}

// BenchmarkKey: the key of a decoded scan event, by Key's walk and by
// looking each field up (keyByLookup).
func BenchmarkKey(b *testing.B) {
	e := event.New(16)
	for k, v := range map[string]string{
		"time.source": "2026-11-19T03:12:44+00:00", "classification.taxonomy": "vulnerable",
		"classification.type": "ddos-amplifier", "classification.identifier": "open-dns",
		"source.ip": "192.0.2.53", "source.port": "53", "source.asn": "64512", "protocol.application": "dns",
		"protocol.transport": "udp", "feed.name": "shadowserver-open-dns", "tlp": "AMBER",
		"extra.sequence": "12345", "extra.constituency": `["org-00001"]`,
	} {
		e.SetTrusted(k, v)
	}
	e, err := event.DecodeRecord(event.AppendRecord(nil, e))
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []struct {
		name string
		key  func(*event.Event) event.Hash
	}{{"walk", Key}, {"lookup", keyByLookup}} {
		b.Run(kind.name, func(b *testing.B) {
			for b.Loop() {
				kind.key(e)
			}
		})
	}
}
