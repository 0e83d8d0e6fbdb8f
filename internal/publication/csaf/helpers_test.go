package csaf

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/publication"
)

// fakeSource is a Source over publications built in Go.
type fakeSource struct {
	mu    sync.Mutex
	pubs  []publication.Publication
	revs  map[int64][]publication.Revision
	gen   int64
	lists int // how many times ListPublications was called
}

func (s *fakeSource) ListPublications(_ context.Context, q publication.Query) (publication.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	var out []publication.Publication
	for _, p := range s.pubs {
		if q.Public && !p.Public() {
			continue
		}
		out = append(out, p)
	}
	if q.Offset >= len(out) {
		return publication.Page{Total: len(out)}, nil
	}
	end := min(len(out), q.Offset+q.Limit)
	return publication.Page{Publications: out[q.Offset:end], Total: len(out)}, nil
}

func (s *fakeSource) Revisions(_ context.Context, id int64) ([]publication.Revision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revs[id], nil
}

func (s *fakeSource) Generation(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen, nil
}

// add stores p, published, and moves the generation.
func (s *fakeSource) add(p publication.Publication) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.ID = int64(len(s.pubs) + 1)
	s.pubs = append(s.pubs, p)
	s.gen++
}

var t0 = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// testPublisher publishes under base.
func testPublisher(base string) Publisher {
	return Publisher{
		Name: "Vigil Test CERT", Namespace: "https://cert.example", ContactDetails: "cert@cert.example",
		BaseURL: base, Version: "test",
		PageURL: func(p *publication.Publication, lang string) string {
			return base + "/" + lang + "/advisories/" + p.Ident
		},
	}
}

// advisory is a published TLP:CLEAR advisory with everything filled.
func testAdvisory(ident string, published time.Time) publication.Publication {
	return publication.Publication{
		Ident: ident, Kind: publication.KindAdvisory, Status: publication.StatusPublished,
		Revision: 2, Published: published, Updated: published.Add(48 * time.Hour),
		Content: publication.Content{
			Severity: "critical", TLP: publication.TLPClear,
			Texts: []publication.Text{
				{Lang: "en", Title: "Remote code execution in Example Gateway", Summary: "An attacker can run code on the gateway.",
					Body: "## Details\n\nThe *management interface* does not check input.",
					Recommendations: []publication.Recommendation{
						{Kind: publication.RecommendPatch, Text: "Install version 2.4.1."},
						{Kind: publication.RecommendMitigate, Text: "Restrict the management interface to a trusted network."},
						{Kind: publication.RecommendWorkaround, Text: "Disable the web interface."},
						{Kind: publication.RecommendDetect, Text: "Look for POST requests to /cgi-bin/admin."},
					}},
				{Lang: "nl", Title: "Uitvoering van code op afstand in Example Gateway", Summary: "Een aanvaller kan code uitvoeren."},
			},
			CVEs: []string{"CVE-2026-1001", "CVE-2026-1002"},
			CWEs: []string{"CWE-78", "CWE-1333"},
			CVSS: []publication.CVSS{
				{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Severity: "critical"},
				{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", Score: 9.3, Severity: "critical"},
			},
			Products: []publication.Product{
				{Vendor: "Example", Product: "Gateway", CPE: "cpe:2.3:h:example:gateway:*:*:*:*:*:*:*:*",
					Versions: []publication.VersionRange{{Introduced: "2.0", Fixed: "2.4.1"}, {Version: "1.9.9"}}},
				{Vendor: "Example", Product: "Agent", PURL: "pkg:npm/example-agent",
					Versions: []publication.VersionRange{{LastAffected: "3.2"}}},
				{Vendor: "Other Corp", Product: "Bridge"},
			},
			References: []publication.Reference{{URL: "https://example.com/security/2026-01", Title: "Vendor advisory"}},
		},
	}
}

// warning is a published TLP:CLEAR warning.
func testWarning(ident string, published time.Time) publication.Publication {
	return publication.Publication{
		Ident: ident, Kind: publication.KindWarning, Status: publication.StatusPublished,
		Revision: 1, Published: published, Updated: published,
		Content: publication.Content{
			Severity: "high", TLP: publication.TLPClear,
			Texts: []publication.Text{{Lang: "en", Title: "Phishing campaign against universities",
				Summary:         "Mails that pretend to come from the IT helpdesk ask for passwords.",
				Recommendations: []publication.Recommendation{{Kind: publication.RecommendMitigate, Text: "Warn your users."}}}},
			Products:   []publication.Product{{Vendor: "Example", Product: "Webmail"}},
			References: []publication.Reference{{URL: "https://example.org/phishing", Title: "Reports"}},
		},
	}
}

// testIdentity is a fresh team key.
func testIdentity(t testing.TB) *pgpmime.Identity {
	t.Helper()
	armored, err := pgpmime.GenerateIdentity("Vigil Test CERT", "cert@cert.example", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}
