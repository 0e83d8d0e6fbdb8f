package site

import (
	"context"
	"html/template"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/csaf"
	"github.com/vigil-cert/vigil/internal/publication/markdown"
)

// detailView is a publication's page: every field a reader may see.
type detailView struct {
	item
	TextLang  string
	Body      template.HTML
	TLP       string
	Revision  int
	Updated   string
	UpdatedAt string
	CVEs      []link
	CWEs      []link
	CVSS      []publication.CVSS
	Products  []product
	Recs      []recGroup
	Refs      []link
	Tags      []string
	History   []revision
	// Languages are the publication's other languages on this site,
	// each named in its own words ("Lire en français").
	Languages []langLink
	// CSAF is its CSAF document, for advisories and warnings.
	CSAF string
}

type link struct{ Text, URL string }

type product struct {
	Vendor, Product, CPE, PURL string
	Versions                   []string
}

type recGroup struct {
	Label string
	Items []string
}

type revision struct {
	Number         int
	Date, DateTime string
	Note           string
}

// renderDetail renders p's page in the reader's language, or in its
// primary language with a note when it has none in the reader's.
func (s *Site) renderDetail(ctx context.Context, snap *snapshot, q request, p *publication.Publication) []byte {
	lang := q.lang
	it := s.newItem(p, lang)
	v := s.newView(lang, "/p/"+url.PathEscape(p.Ident), kindPaths[p.Kind], it.Title)
	text, _ := p.Text(lang)
	d := &detailView{item: it, TextLang: text.Lang, Body: markdown.Render(text.Body), TLP: "TLP:" + string(p.TLP),
		Revision: p.Revision, Tags: p.Tags}
	if p.Updated.After(p.Published) {
		d.Updated, d.UpdatedAt = s.cat.Date(lang, p.Updated), p.Updated.UTC().Format("2006-01-02T15:04:05Z")
	}
	for _, c := range p.CVEs {
		d.CVEs = append(d.CVEs, link{Text: c, URL: "https://www.cve.org/CVERecord?id=" + url.QueryEscape(c)})
	}
	for _, c := range p.CWEs {
		d.CWEs = append(d.CWEs, link{Text: c, URL: cweURL(c)})
	}
	d.CVSS = p.CVSS
	for _, pr := range p.Products {
		out := product{Vendor: pr.Vendor, Product: pr.Product, CPE: pr.CPE, PURL: pr.PURL}
		for _, r := range pr.Versions {
			out.Versions = append(out.Versions, versionRange(r))
		}
		d.Products = append(d.Products, out)
	}
	for _, kind := range publication.RecommendationKinds {
		g := recGroup{Label: s.cat.T(lang, "site.recommend."+kind)}
		for _, r := range text.Recommendations {
			if r.Kind == kind {
				g.Items = append(g.Items, r.Text)
			}
		}
		if len(g.Items) > 0 {
			d.Recs = append(d.Recs, g)
		}
	}
	for _, r := range p.References {
		if safeURL(r.URL) {
			title := r.Title
			if title == "" {
				title = r.URL
			}
			d.Refs = append(d.Refs, link{Text: title, URL: r.URL})
		}
	}
	revs, err := s.deps.Source.Revisions(ctx, p.ID)
	if err != nil {
		s.log.Error("site: revisions", "ident", p.Ident, "err", err)
	}
	for _, r := range slices.Backward(revs) {
		d.History = append(d.History, revision{Number: r.Number, Date: s.cat.Date(lang, r.Published),
			DateTime: r.Published.UTC().Format("2006-01-02T15:04:05Z"), Note: r.PublicNote()})
	}
	for _, l := range p.Languages() {
		if l != lang && slices.Contains(s.deps.Languages, l) {
			d.Languages = append(d.Languages, langLink{Code: l, Name: s.cat.T(l, "site.detail.in"), URL: "/" + l + "/p/" + url.PathEscape(p.Ident)})
		}
	}
	if p.Kind == publication.KindAdvisory || p.Kind == publication.KindWarning {
		d.CSAF = "/" + csaf.PublicPath(p.Ident, p.Published.UTC().Format(time.RFC3339))
	}
	v.Detail = d
	return s.execute("detail", v)
}

// cweURL links a CWE to its entry in MITRE's list.
func cweURL(cwe string) string {
	n := strings.TrimPrefix(strings.ToUpper(cwe), "CWE-")
	for _, r := range n {
		if r < '0' || r > '9' {
			return "https://cwe.mitre.org/"
		}
	}
	return "https://cwe.mitre.org/data/definitions/" + n + ".html"
}

// safeURL admits the links a page may carry: http, https and mailto.
func safeURL(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return true
	}
	return false
}
