package site

import (
	"bytes"
	"encoding/xml"
	"net/url"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

// feedItems is how many publications a feed carries, the latest first.
const feedItems = 50

const (
	rssType  = "application/rss+xml"
	atomType = "application/atom+xml"
)

func feedType(format string) string {
	if format == "atom" {
		return atomType + "; charset=utf-8"
	}
	return rssType + "; charset=utf-8"
}

// rss is an RSS 2.0 document with the Atom self link the RSS Advisory
// Board recommends.
type rss struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Atom    string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Self          atomLink  `xml:"atom:link"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	GUID        rssGUID  `xml:"guid"`
	PubDate     string   `xml:"pubDate"`
	Description string   `xml:"description"`
	Categories  []string `xml:"category"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type atomLink struct {
	Href     string `xml:"href,attr"`
	Rel      string `xml:"rel,attr,omitempty"`
	Type     string `xml:"type,attr,omitempty"`
	HrefLang string `xml:"hreflang,attr,omitempty"`
}

// atomFeed is an Atom (RFC 4287) feed.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomAuthor struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomEntry struct {
	Lang       string         `xml:"xml:lang,attr,omitempty"`
	Title      string         `xml:"title"`
	ID         string         `xml:"id"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published"`
	Links      []atomLink     `xml:"link"`
	Summary    string         `xml:"summary"`
	Categories []atomCategory `xml:"category"`
}

type atomCategory struct {
	Term  string `xml:"term,attr"`
	Label string `xml:"label,attr,omitempty"`
}

// renderFeed renders the RSS or Atom feed q asks for: every kind, one
// kind, or the worst severity only.
func (s *Site) renderFeed(snap *snapshot, q request) []byte {
	lang := q.lang
	f := filter{}
	title := s.cat.T(lang, "site.feed.title.all", s.deps.Name)
	path := "/" + lang + "/"
	selfName := "feed"
	switch {
	case q.critical:
		f.Severity = s.deps.Severities[0]
		title = s.cat.T(lang, "site.feed.title.critical", s.deps.Name)
		selfName = "critical"
	case q.kind != "":
		title = s.cat.T(lang, "site.feed.title.kind", s.deps.Name, s.cat.T(lang, "site.kinds."+string(q.kind)))
		path += kindPaths[q.kind]
		selfName = kindPaths[q.kind]
	}
	pubs := selectKind(snap, q.kind, f)
	if len(pubs) > feedItems {
		pubs = pubs[:feedItems]
	}
	base := s.deps.BaseURL
	self := base + "/" + lang + "/" + selfName + "." + q.format
	var out any
	if q.format == "atom" {
		feed := atomFeed{Lang: lang, Title: title, ID: self, Updated: snap.modified.UTC().Format(time.RFC3339),
			Links:  []atomLink{{Href: self, Rel: "self", Type: atomType}, {Href: base + path, Rel: "alternate", Type: "text/html", HrefLang: lang}},
			Author: atomAuthor{Name: s.deps.Name, URI: base + "/" + lang + "/"}}
		for _, p := range pubs {
			feed.Entries = append(feed.Entries, s.atomEntry(p, lang))
		}
		out = feed
	} else {
		ch := rssChannel{Title: title, Link: base + path, Description: s.cat.T(lang, "site.feed.description", s.deps.Name),
			Language: lang, LastBuildDate: snap.modified.UTC().Format(time.RFC1123Z),
			Self: atomLink{Href: self, Rel: "self", Type: rssType}}
		for _, p := range pubs {
			ch.Items = append(ch.Items, s.rssItem(p, lang))
		}
		out = rss{Version: "2.0", Atom: "http://www.w3.org/2005/Atom", Channel: ch}
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", " ")
	if err := enc.Encode(out); err != nil {
		s.log.Error("site: feed", "err", err)
	}
	b.WriteString("\n")
	return b.Bytes()
}

// pageURL is p's absolute address in lang.
func (s *Site) pageURL(p *publication.Publication, lang string) string {
	return s.deps.BaseURL + "/" + lang + "/p/" + url.PathEscape(p.Ident)
}

// categories are an item's kind and severity, in lang.
func (s *Site) categories(p *publication.Publication, lang string) []atomCategory {
	out := []atomCategory{{Term: string(p.Kind), Label: s.cat.T(lang, "site.kind."+string(p.Kind))}}
	if p.Severity != "" {
		out = append(out, atomCategory{Term: p.Severity, Label: s.severityLabel(lang, p.Severity)})
	}
	return out
}

func (s *Site) rssItem(p *publication.Publication, lang string) rssItem {
	text, _ := p.Text(lang)
	link := s.pageURL(p, lang)
	it := rssItem{Title: p.Ident + ": " + text.Title, Link: link, GUID: rssGUID{IsPermaLink: "true", Value: link},
		PubDate: p.Published.UTC().Format(time.RFC1123Z), Description: text.Summary}
	for _, c := range s.categories(p, lang) {
		it.Categories = append(it.Categories, c.Label)
	}
	return it
}

func (s *Site) atomEntry(p *publication.Publication, lang string) atomEntry {
	text, _ := p.Text(lang)
	link := s.pageURL(p, lang)
	e := atomEntry{Title: p.Ident + ": " + text.Title, ID: link,
		Updated: latest(p.Published, p.Updated).UTC().Format(time.RFC3339), Published: p.Published.UTC().Format(time.RFC3339),
		Links: []atomLink{{Href: link, Rel: "alternate", Type: "text/html", HrefLang: lang}}, Summary: text.Summary,
		Categories: s.categories(p, lang)}
	if text.Lang != lang {
		e.Lang = text.Lang
	}
	return e
}
