// Package demo generates the synthetic data set behind `vigil serve --demo`:
// Shadowserver-format reports and a few lists dropped into the inbox, a
// routing table and a GeoIP database for enrichment, and a demo login. All
// of it is invented: documentation and benchmarking address ranges,
// documentation AS numbers, example domains.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/enricher"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/alert"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	"github.com/vigil-cert/vigil/internal/store"
)

// The demo login, printed by `vigil serve --demo`.
const (
	User     = "demo"
	Password = "vigil-demo-2026"
)

// Networks are the demo's address space, with the AS and country each
// belongs to.
var Networks = []struct {
	Prefix  netip.Prefix
	ASN     int
	ASName  string
	Country string
}{
	{netip.MustParsePrefix("192.0.2.0/24"), 64496, "DEMO-UNIV-A - Demo University A, BE", "BE"},
	{netip.MustParsePrefix("198.51.100.0/24"), 64497, "DEMO-COLLEGE - Demo College, BE", "BE"},
	{netip.MustParsePrefix("203.0.113.0/24"), 64498, "DEMO-HOSTING - Demo Hosting, NL", "NL"},
	{netip.MustParsePrefix("198.18.0.0/16"), 64499, "DEMO-RESEARCH - Demo Research Network, BE", "BE"},
	{netip.MustParsePrefix("198.19.0.0/16"), 64500, "DEMO-GOV - Demo Government Network, FR", "FR"},
	{netip.MustParsePrefix("2001:db8::/32"), 64501, "DEMO-V6 - Demo IPv6 Network, DE", "DE"},
}

// demoSinkholes are the sinkholes infected machines reach in the demo's
// reports: at Demo Hosting, which is not a constituent, so that a sinkhole
// report is told to the infected machine's organisation only.
var demoSinkholes = netip.MustParsePrefix("203.0.113.0/24")

// Set is a prepared demo data set in <data>/demo.
type Set struct {
	dir     string
	dataDir string
	// mail catches the demo's notifications; nil until StartMailbox.
	mail *Mailbox
	// Publishing is the service the demo's publications go through, so
	// that they reach the configured channels; nil: one with the
	// defaults.
	Publishing *publication.Service
}

// Prepare writes the routing table and the GeoIP database the demo's
// enrichers read.
func Prepare(dataDir string) (*Set, error) {
	s := &Set{dir: filepath.Join(dataDir, "demo"), dataDir: dataDir}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	var pfx2as, names strings.Builder
	countries := map[netip.Prefix]string{}
	for _, n := range Networks {
		fmt.Fprintf(&pfx2as, "%s\t%d\t%d\n", n.Prefix.Addr(), n.Prefix.Bits(), n.ASN)
		fmt.Fprintf(&names, "%d %s\n", n.ASN, n.ASName)
		countries[n.Prefix] = n.Country
	}
	if err := os.WriteFile(s.routingTable(), []byte(pfx2as.String()), 0o640); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(s.asNames(), []byte(names.String()), 0o640); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := enricher.WriteCountryDatabase(s.geoIP(), countries); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return s, nil
}

func (s *Set) routingTable() string { return filepath.Join(s.dir, "pfx2as.txt") }
func (s *Set) asNames() string      { return filepath.Join(s.dir, "asnames.txt") }
func (s *Set) geoIP() string        { return filepath.Join(s.dir, "geoip.mmdb") }

// Configure adds the ASN and GeoIP enrichers over the demo's files (before
// the constituency enricher, which matches organisations by AS number
// too) and, once the mailbox runs, sends notifications and the newsletter
// (its form, confirmations, digests and warnings) through it.
func (s *Set) Configure(cfg *config.Config) {
	stages := []config.Stage{
		{ID: "asn", Options: pipeline.Options{"file": s.routingTable(), "names_file": s.asNames()}},
		{ID: "geoip", Options: pipeline.Options{"file": s.geoIP()}},
	}
	at := slices.IndexFunc(cfg.Pipeline.Enrichers, func(st config.Stage) bool { return st.ID == "constituency" })
	if at < 0 {
		at = len(cfg.Pipeline.Enrichers)
	}
	cfg.Pipeline.Enrichers = slices.Insert(cfg.Pipeline.Enrichers, at, stages...)
	if !cfg.IncidentAlerts.Enabled() {
		cfg.IncidentAlerts.Rules = AlertRules
	}
	if s.mail != nil {
		cfg.Notify.Enabled = true
		cfg.Notify.From = "Vigil Demo CERT <cert@demo-cert.example>"
		cfg.Notify.Interval = 15 * time.Second
		cfg.SMTP.Host = "127.0.0.1"
		cfg.SMTP.Port = s.mail.Addr().Port
		cfg.SMTP.TLS = outbox.TLSNone
		// The newsletter too, so that the site's subscription form works
		// and its mails land in the mailbox beside the notifications.
		if !cfg.Newsletter.Enabled {
			cfg.Newsletter.Enabled = true
			cfg.Newsletter.From = "Vigil Demo CERT <newsletter@demo-cert.example>"
			cfg.Newsletter.Digest.Enabled = true
		}
	}
}

// AlertRules are the demo's pipeline alerts (incident_alerts), unless
// the configuration has rules of its own: the sinkhole's infected
// machines and the phishing sites its peer reports, so that the triage
// queue shows alerts grouped per organisation and type.
var AlertRules = []alert.Rule{
	{Name: "Infected machines (sinkhole)", Type: "infected-system", Severity: incident.SeverityHigh},
	{Name: "Phishing sites", Type: "phishing", Severity: incident.SeverityMedium},
}

// StartMailbox starts the demo's mail catcher, which keeps every
// notification in <data>/demo/mail as a .eml file.
func (s *Set) StartMailbox(log *slog.Logger) error {
	m, err := StartMailbox(s.MailDir(), log)
	if err != nil {
		return err
	}
	s.mail = m
	return nil
}

// MailDir is where the demo's notifications arrive.
func (s *Set) MailDir() string { return filepath.Join(s.dir, "mail") }

// KeysDir holds the private keys of the demo's contacts, to read their
// encrypted notifications with (gpg --import).
func (s *Set) KeysDir() string { return filepath.Join(s.dir, "keys") }

// Close stops the mailbox.
func (s *Set) Close() error {
	if s.mail == nil {
		return nil
	}
	return s.mail.Close()
}

const loadedKey = "demo/loaded"

// Load creates the demo login, the constituency and, once per data
// directory, the incident reports and incidents (loadIncidents), and drops
// the demo feed files into the inbox, where the running pipeline picks
// them up.
func (s *Set) Load(ctx context.Context, st *database.DB) error {
	if _, err := st.GetUserByName(ctx, User); errors.Is(err, store.ErrNotFound) {
		u, err := auth.NewUser(User, "demo@example.org", auth.RoleAdmin, Password, "en")
		if err != nil {
			return fmt.Errorf("demo user: %w", err)
		}
		if err := st.CreateUser(ctx, &u); err != nil {
			return fmt.Errorf("demo user: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("demo user: %w", err)
	}
	if err := s.loadConstituency(ctx, st); err != nil {
		return err
	}
	if err := loadProducts(ctx, st); err != nil {
		return err
	}
	if err := s.loadIncidents(ctx, st); err != nil {
		return err
	}
	if err := s.loadPublications(ctx, st); err != nil {
		return err
	}
	if _, err := st.GetState(ctx, loadedKey); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := WriteReports(filepath.Join(s.dataDir, "inbox"), time.Now().UTC(), 1); err != nil {
		return err
	}
	return st.PutState(ctx, loadedKey, []byte(time.Now().UTC().Format(time.RFC3339)))
}

// demoReports are the Shadowserver report types in the demo, with rows each.
var demoReports = []struct {
	report string
	rows   int
}{
	{"scan_rdp", 400}, {"scan_smb", 250}, {"scan_telnet", 150}, {"scan_ssh", 300},
	{"scan_ntp", 120}, {"scan_dns", 200}, {"scan_snmp", 90}, {"scan_http", 350},
	{"scan_ssl", 180}, {"event4_sinkhole", 500}, {"event4_sinkhole_http", 220},
	{"event4_honeypot_brute_force", 260}, {"compromised_website", 40}, {"blocklist", 60},
}

// WriteReports writes the demo's feed files into dir as a collector would:
// each to a temporary name, then renamed into place.
func WriteReports(dir string, now time.Time, seed uint64) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("demo inbox: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	prefixes := make([]netip.Prefix, 0, len(Networks))
	for _, n := range Networks {
		prefixes = append(prefixes, n.Prefix)
	}
	day := now.Add(-24 * time.Hour)
	write := func(name string, fill func(f *os.File) error) error {
		tmp := filepath.Join(dir, "."+name+".tmp")
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if err := fill(f); err != nil {
			f.Close()
			return fmt.Errorf("demo %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		return os.Rename(tmp, filepath.Join(dir, name))
	}
	for _, r := range demoReports {
		name := fmt.Sprintf("%s-%s-demo-geo.csv", day.Format("2006-01-02"), r.report)
		err := write(name, func(f *os.File) error {
			return shadowserver.Generate(f, r.report, r.rows, rng, shadowserver.GenerateOptions{
				Prefixes: prefixes, Start: day, Step: 24 * time.Hour / time.Duration(r.rows), Sinkholes: demoSinkholes})
		})
		if err != nil {
			return err
		}
	}
	// A report with broken lines, so the dead-letter page has something to show.
	err := write(day.Format("2006-01-02")+"-scan_rdp-broken-demo.csv", func(f *os.File) error {
		var b strings.Builder
		if err := shadowserver.Generate(&b, "scan_rdp", 20, rng, shadowserver.GenerateOptions{Prefixes: prefixes, Start: day, Step: time.Minute}); err != nil {
			return err
		}
		lines := strings.SplitAfter(b.String(), "\n")
		lines = append(lines[:3], append([]string{
			"\"" + day.Format("2006-01-02 15:04:05") + "\",\"999.1.2.3\",\"3389\"\n",
			"not,a,valid,row\n",
		}, lines[3:]...)...)
		_, err := f.WriteString(strings.Join(lines, ""))
		return err
	})
	if err != nil {
		return err
	}
	return write("demo-events.jsonl", func(f *os.File) error { return writeIntelMQ(f, rng, prefixes, day) })
}

// writeIntelMQ writes phishing and C2 events in IntelMQ's JSON-lines form,
// as a peer's IntelMQ would hand them over.
func writeIntelMQ(f *os.File, rng *rand.Rand, prefixes []netip.Prefix, day time.Time) error {
	brands := []string{"bank", "mail", "parcel", "tax", "university"}
	for i := range 60 {
		ip := randomAddr(rng, prefixes[rng.IntN(len(prefixes))])
		t := day.Add(time.Duration(i) * 20 * time.Minute).Format("2006-01-02T15:04:05+00:00")
		var line string
		if i%3 == 0 {
			line = fmt.Sprintf(`{"time.source": %q, "source.ip": %q, "source.port": 443, "classification.type": "c2-server", "malware.name": "demobot", "feed.name": "peer-intelmq", "tlp": "AMBER"}`, t, ip)
		} else {
			host := fmt.Sprintf("%s-login-%d.example.net", brands[rng.IntN(len(brands))], rng.IntN(1000))
			line = fmt.Sprintf(`{"time.source": %q, "source.url": "https://%s/verify", "source.fqdn": %q, "source.ip": %q, "classification.type": "phishing", "feed.name": "peer-intelmq", "tlp": "GREEN"}`, t, host, host, ip)
		}
		if _, err := fmt.Fprintln(f, line); err != nil {
			return err
		}
	}
	return nil
}

func randomAddr(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits() / 8; i < len(b); i++ {
		b[i] = byte(rng.IntN(256))
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
