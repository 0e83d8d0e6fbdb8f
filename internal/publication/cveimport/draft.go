package cveimport

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/publication"
)

// SummaryLength is the longest summary Draft writes, in characters: the
// description's first paragraph, cut at a word.
const SummaryLength = 300

// Draft returns the content of an advisory drafted from r, for the
// languages langs (the primary first; nil: every language the record
// has, English first). The primary language always gets a text, with
// the English description when the record has none in it (to be
// translated: CVE records are in English); another language gets one
// when the record has a description in it. A text's title is the CNA's
// title (else the CVE ID), its summary the description's first
// paragraph, its body the whole description as Markdown (its markup
// characters escaped, so that it reads as written), its recommendations
// the record's solutions (patch) and workarounds. The TLP is CLEAR: a
// CVE record is public. The severity is the highest CVSS score's
// rating, "" when the record has no score (the analyst chooses).
// References other than http and https are left out, and the lists are
// cut to what publication.Rules.Check allows, so that the draft can be
// saved as it is.
func (r Record) Draft(langs []string) publication.Content {
	c := publication.Content{TLP: publication.TLPClear, CVEs: []string{r.ID}}
	if langs == nil {
		langs = r.languages()
	}
	for i, lang := range langs {
		if t, ok := r.text(lang, i == 0); ok {
			c.Texts = append(c.Texts, t)
		}
	}
	for _, cont := range r.containers() {
		c.CWEs = appendNew(c.CWEs, cont.cwes()...)
		for _, m := range cont.Metrics {
			if len(c.CVSS) < MaxScores && !slices.ContainsFunc(c.CVSS, func(have publication.CVSS) bool { return have.Vector == m.Vector }) {
				c.CVSS = append(c.CVSS, m)
			}
		}
		for _, ref := range cont.References {
			if len(c.References) < publication.MaxListItems && httpAddress(ref.URL) &&
				!slices.ContainsFunc(c.References, func(have publication.Reference) bool { return have.URL == ref.URL }) {
				c.References = append(c.References, publication.Reference{URL: ref.URL, Title: ref.Name})
			}
		}
	}
	c.CWEs = c.CWEs[:min(len(c.CWEs), publication.MaxListItems)]
	c.Products = r.products()
	c.Severity = severity(c.CVSS)
	return c
}

// MaxScores is the most CVSS scores a draft takes (the first ones:
// the CNA's, then the ADPs').
const MaxScores = 10

// containers is the CNA's container, then the ADPs'.
func (r Record) containers() []Container {
	return append([]Container{r.CNA}, r.ADP...)
}

// languages lists the languages of the CNA's descriptions, English first.
func (r Record) languages() []string {
	langs := []string{"en"}
	for _, d := range r.CNA.Descriptions {
		langs = appendNew(langs, baseLang(d.Lang))
	}
	return langs
}

// text is the record in lang, if it has a description in lang; the
// primary language takes the English one (or the first) otherwise.
func (r Record) text(lang string, primary bool) (publication.Text, bool) {
	desc, ok := inLang(r.CNA.Descriptions, lang)
	if !ok && !primary {
		return publication.Text{}, false
	}
	if !ok {
		desc = english(r.CNA.Descriptions)
	}
	t := publication.Text{
		Lang:    lang,
		Title:   r.CNA.Title,
		Summary: summary(desc),
		Body:    escapeMarkdown(desc),
	}
	if t.Title == "" {
		t.Title = r.ID
	}
	if runes := []rune(t.Title); len(runes) > publication.MaxTitle {
		t.Title = string(runes[:publication.MaxTitle])
	}
	for _, d := range r.CNA.Solutions {
		if baseLang(d.Lang) == lang {
			t.Recommendations = append(t.Recommendations, publication.Recommendation{Kind: publication.RecommendPatch, Text: d.Value})
		}
	}
	for _, d := range r.CNA.Workarounds {
		if baseLang(d.Lang) == lang {
			t.Recommendations = append(t.Recommendations, publication.Recommendation{Kind: publication.RecommendWorkaround, Text: d.Value})
		}
	}
	return t, true
}

// inLang is the first of ds in lang.
func inLang(ds []Description, lang string) (string, bool) {
	for _, d := range ds {
		if baseLang(d.Lang) == lang {
			return d.Value, true
		}
	}
	return "", false
}

// cwes lists the container's CWE IDs: the cweId fields, and problem
// types of type CWE whose description starts with one.
func (c Container) cwes() []string {
	var out []string
	for _, pt := range c.ProblemTypes {
		id := pt.CWEID
		if id == "" && pt.Type == "CWE" {
			first, _, _ := strings.Cut(pt.Description, " ")
			if cweID.MatchString(first) {
				id = first
			}
		}
		if id != "" {
			out = appendNew(out, id)
		}
	}
	return out
}

// products are the CNA's affected products, or the ADPs' when the CNA
// names none. A product none of whose versions is affected (and whose
// default status is not affected) is left out.
func (r Record) products() []publication.Product {
	var out []publication.Product
	for _, cont := range r.containers() {
		for _, a := range cont.Affected {
			if p, ok := product(a); ok && len(out) < publication.MaxListItems {
				out = append(out, p)
			}
		}
		if len(out) > 0 {
			break
		}
	}
	return out
}

// product turns an affected entry into a publication's product. An
// affected product with no affected version listed (default status
// affected) has no ranges: every version is affected.
func product(a Affected) (publication.Product, bool) {
	p := publication.Product{Vendor: a.Vendor, Product: a.Product, PURL: a.PackageURL}
	if p.Product == "" {
		p.Product = a.PackageName
	}
	if len(a.CPEs) > 0 {
		p.CPE = a.CPEs[0]
	}
	if p.PURL == "" {
		p.PURL = packageURL(a.CollectionURL, a.PackageName)
	}
	for _, v := range a.Versions {
		if v.Status == "affected" && len(p.Versions) < publication.MaxListItems {
			p.Versions = append(p.Versions, versionRange(v))
		}
	}
	return p, len(p.Versions) > 0 || a.DefaultStatus == "affected"
}

// versionRange turns an affected version entry into a range: an exact
// version, or from Version (0 and * mean from the first version: no
// lower bound) up to LessThan (Fixed) or LessThanOrEqual (LastAffected);
// an upper bound of * means no fix is known.
func versionRange(v Version) publication.VersionRange {
	if v.LessThan == "" && v.LessThanOrEqual == "" {
		return publication.VersionRange{Version: v.Version}
	}
	vr := publication.VersionRange{Introduced: v.Version}
	if vr.Introduced == "0" || vr.Introduced == "*" {
		vr.Introduced = ""
	}
	if v.LessThan != "" && v.LessThan != "*" {
		vr.Fixed = v.LessThan
	}
	if v.LessThanOrEqual != "" && v.LessThanOrEqual != "*" {
		vr.LastAffected = v.LessThanOrEqual
	}
	return vr
}

// collections are the package registries whose collectionURL a Package
// URL type can be made from.
var collections = map[string]string{
	"registry.npmjs.org":          "npm",
	"www.npmjs.com":               "npm",
	"pypi.org":                    "pypi",
	"pypi.python.org":             "pypi",
	"crates.io":                   "cargo",
	"rubygems.org":                "gem",
	"pkg.go.dev":                  "golang",
	"proxy.golang.org":            "golang",
	"packagist.org":               "composer",
	"www.nuget.org":               "nuget",
	"nuget.org":                   "nuget",
	"repo.maven.apache.org":       "maven",
	"repo1.maven.org":             "maven",
	"central.sonatype.com":        "maven",
	"hex.pm":                      "hex",
	"pub.dev":                     "pub",
	"cocoapods.org":               "cocoapods",
	"hub.docker.com":              "docker",
	"github.com":                  "github",
	"registry.terraform.io":       "terraform",
	"swiftpackageindex.com":       "swift",
	"packages.debian.org":         "deb",
	"security-tracker.debian.org": "deb",
}

// packageURL makes a Package URL from a collection and a package name,
// "" when the collection is not a registry collections knows.
func packageURL(collection, name string) string {
	u, err := url.Parse(collection)
	if err != nil || name == "" {
		return ""
	}
	typ, ok := collections[strings.ToLower(u.Host)]
	if !ok {
		return ""
	}
	if typ == "maven" {
		// Maven names are group:artifact.
		name = strings.Replace(name, ":", "/", 1)
	}
	if typ == "pypi" {
		name = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	}
	return "pkg:" + typ + "/" + name
}

// severity is the rating of the highest score, if the default scale has
// it ("none" is no severity).
func severity(scores []publication.CVSS) string {
	best := -1.0
	rating := ""
	for _, s := range scores {
		if s.Score > best {
			best, rating = s.Score, s.Severity
		}
	}
	if slices.Contains(publication.DefaultSeverities, rating) {
		return rating
	}
	return ""
}

// summary is the description's first paragraph, cut at a word to
// SummaryLength characters.
func summary(desc string) string {
	para := strings.TrimSpace(desc)
	if i := strings.Index(para, "\n\n"); i >= 0 {
		para = para[:i]
	}
	para = strings.Join(strings.Fields(para), " ")
	if utf8.RuneCountInString(para) <= SummaryLength {
		return para
	}
	runes := []rune(para)[:SummaryLength]
	end := len(runes) - 1
	for end > 0 && !unicode.IsSpace(runes[end]) {
		end--
	}
	if end == 0 {
		end = len(runes) - 1
	}
	return strings.TrimRightFunc(string(runes[:end]), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	}) + "…"
}

// escapeMarkdown makes a plain text Markdown that reads as written:
// the characters that would become markup are escaped (a description
// that quotes <script> shows it instead of losing it as raw HTML), and
// web addresses become links, written as autolinks (<https://…>) so
// that the punctuation after one is not taken into it.
func escapeMarkdown(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range webInText.FindAllStringIndex(s, -1) {
		escapeTo(&b, s[last:m[0]])
		address := trimAddress(s[m[0]:m[1]])
		if strings.Contains(address, "://") {
			b.WriteString("<" + address + ">")
		} else {
			b.WriteString(address)
		}
		last = m[0] + len(address)
	}
	escapeTo(&b, s[last:])
	return b.String()
}

// trimAddress drops from the end of an address found in a text the
// punctuation that ends the sentence around it, and a closing
// parenthesis it did not open (GitHub's rule for autolinks).
func trimAddress(s string) string {
	for s != "" {
		last := s[len(s)-1]
		switch {
		case strings.IndexByte(".,:;!?*_~'\"", last) >= 0:
			s = s[:len(s)-1]
		case last == ')' && strings.Count(s, "(") < strings.Count(s, ")"):
			s = s[:len(s)-1]
		default:
			return s
		}
	}
	return s
}

// webInText finds the web addresses of a text, as far as the characters
// that would make them markup.
var webInText = regexp.MustCompile("(?i)\\b(?:https?://|www\\.)[^\\s<>`\\\\]+")

// escapeTo writes s to b with its Markdown characters escaped.
func escapeTo(b *strings.Builder, s string) {
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>&~|#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
}

// webAddress reports whether s is an absolute http, https or ftp
// address.
func webAddress(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ftp":
		return true
	}
	return false
}

// httpAddress reports whether s is an http or https address, the only
// links a publication holds.
func httpAddress(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// appendNew appends the values of vs that list lacks.
func appendNew(list []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}
