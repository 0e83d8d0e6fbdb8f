package csaf

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// wellKnown is where the provider's files are, from the site's root.
const wellKnown = ".well-known/csaf/"

// The files' names in the provider and the TLP:WHITE folder.
const (
	metadataName = "provider-metadata.json"
	serviceName  = "service.json"
	whiteFolder  = "white/"
	feedName     = "csaf-feed-tlp-white.json"
	categoryName = "category-white.json"
)

// csafSchemaURL is the CSAF 2.0 schema's address, named in ROLIE entries.
const csafSchemaURL = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"

// rolieCategory is the ROLIE category every CSAF feed carries.
var rolieCategory = map[string]string{"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}

// ProviderMetadataURL is the address of the provider-metadata.json of a
// provider served under base (https://cert.example), for the CSAF: line
// of security.txt.
func ProviderMetadataURL(base string) string {
	return strings.TrimRight(base, "/") + "/" + wellKnown + metadataName
}

// file is one file the provider serves.
type file struct {
	body     []byte
	ctype    string
	etag     string
	modified time.Time
}

// entry is one document in the TLP:WHITE folder.
type entry struct {
	path     string // 2026/vigil-2026-0042.json, under white/
	id       string
	title    string
	summary  string
	category string
	initial  string
	current  string
	body     []byte
}

// fileSet is what one build of the provider serves, by path under
// /.well-known/csaf/.
type fileSet map[string]*file

func (fs fileSet) add(path, ctype string, body []byte, modified time.Time) {
	sum := sha256.Sum256(body)
	fs[path] = &file{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, modified: modified}
}

func (fs fileSet) addJSON(path string, v any, modified time.Time) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("csaf: encode %s: %w", path, err)
	}
	fs.add(path, "application/json", append(data, '\n'), modified)
	return nil
}

// detachSign signs body with id's key: an armored detached signature.
func detachSign(id *pgpmime.Identity, body []byte) ([]byte, error) {
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, id.Entity(), bytes.NewReader(body), nil); err != nil {
		return nil, err
	}
	sig.WriteByte('\n')
	return sig.Bytes(), nil
}

// parseStamp reads a date the documents wrote.
func parseStamp(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// buildFiles lays out the provider: the documents with their hashes and
// signatures, index.txt, changes.csv, the ROLIE feed, category and
// service documents, directory listings, the public key and
// provider-metadata.json. sign makes a document's detached signature
// with id's key; a nil id makes a provider without signatures (role
// csaf_provider).
func buildFiles(pub Publisher, entries []entry, id *pgpmime.Identity, sign func([]byte) ([]byte, error), now time.Time) (fileSet, error) {
	base := strings.TrimRight(pub.BaseURL, "/") + "/" + wellKnown
	fs := fileSet{}
	// Newest first, as changes.csv and the feed want them.
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].current != entries[j].current {
			return entries[i].current > entries[j].current
		}
		return entries[i].path < entries[j].path
	})
	lastUpdated := now
	if len(entries) > 0 {
		lastUpdated = parseStamp(entries[0].current)
	}
	var index, changes strings.Builder
	years := map[string][]string{}
	var feedEntries []map[string]any
	for _, e := range entries {
		mod := parseStamp(e.current)
		path := whiteFolder + e.path
		fs.add(path, "application/json", e.body, mod)
		s256, s512 := sha256.Sum256(e.body), sha512.Sum512(e.body)
		name := e.path[strings.LastIndex(e.path, "/")+1:]
		fs.add(path+".sha256", "text/plain; charset=utf-8", []byte(hex.EncodeToString(s256[:])+"  "+name+"\n"), mod)
		fs.add(path+".sha512", "text/plain; charset=utf-8", []byte(hex.EncodeToString(s512[:])+"  "+name+"\n"), mod)
		links := []map[string]string{
			{"rel": "self", "href": base + path},
			{"rel": "hash", "href": base + path + ".sha256"},
			{"rel": "hash", "href": base + path + ".sha512"},
		}
		if id != nil {
			sig, err := sign(e.body)
			if err != nil {
				return nil, fmt.Errorf("csaf: sign %s: %w", e.path, err)
			}
			fs.add(path+".asc", "application/pgp-signature", sig, mod)
			links = append(links, map[string]string{"rel": "signature", "href": base + path + ".asc"})
		}
		index.WriteString(e.path + "\n")
		fmt.Fprintf(&changes, "%q,%q\n", e.path, e.current)
		year := e.path[:strings.Index(e.path, "/")]
		years[year] = append(years[year], name)
		fe := map[string]any{
			"id": e.id, "title": e.title, "link": links,
			"published": e.initial, "updated": e.current,
			"content": map[string]string{"type": "application/json", "src": base + path},
			"format":  map[string]string{"schema": csafSchemaURL, "version": "2.0"},
		}
		if e.summary != "" {
			fe["summary"] = map[string]string{"content": e.summary}
		}
		feedEntries = append(feedEntries, fe)
	}
	if feedEntries == nil {
		feedEntries = []map[string]any{}
	}
	// The lists, the feed and the metadata are as new as this build
	// (HTTP Last-Modified): after a withdrawal their newest document is
	// older than before, and a reader asking If-Modified-Since must get
	// the shorter lists, not a 304. Their contents keep the documents'
	// own dates.
	fs.add(whiteFolder+"index.txt", "text/plain; charset=utf-8", []byte(index.String()), now)
	fs.add(whiteFolder+"changes.csv", "text/csv; charset=utf-8", []byte(changes.String()), now)
	feedURL := base + whiteFolder + feedName
	feed := map[string]any{"feed": map[string]any{
		"id":       "csaf-feed-tlp-white",
		"title":    pub.Name + " CSAF feed (TLP:WHITE)",
		"link":     []map[string]string{{"rel": "self", "href": feedURL}},
		"category": []map[string]string{rolieCategory},
		"updated":  stamp(lastUpdated),
		"entry":    feedEntries,
	}}
	categories := []map[string]string{rolieCategory,
		{"scheme": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0-os.html#3216-document-property---category", "term": CategorySecurity},
		{"scheme": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0-os.html#3216-document-property---category", "term": CategoryInformational}}
	service := map[string]any{"service": map[string]any{"workspace": []map[string]any{{
		"title": pub.Name + " CSAF advisories",
		"collection": []map[string]any{{
			"title": pub.Name + " CSAF feed (TLP:WHITE)", "href": feedURL,
			"categories": map[string]any{"category": []map[string]string{rolieCategory}},
		}},
	}}}}
	metadata := providerMetadata(pub, base, feedURL, id, lastUpdated)
	for path, v := range map[string]any{
		whiteFolder + feedName:     feed,
		whiteFolder + categoryName: map[string]any{"categories": map[string]any{"category": categories}},
		serviceName:                service,
		metadataName:               metadata,
	} {
		if err := fs.addJSON(path, v, now); err != nil {
			return nil, err
		}
	}
	if id != nil {
		fs.add("openpgp/"+id.Fingerprint()+".asc", "application/pgp-keys", []byte(id.PublicKey()), id.Created())
	}
	listings(fs, years, id, now)
	return fs, nil
}

// providerMetadata is provider-metadata.json: a trusted provider when
// the documents are signed.
func providerMetadata(pub Publisher, base, feedURL string, id *pgpmime.Identity, updated time.Time) map[string]any {
	pm := map[string]any{
		"canonical_url": base + metadataName,
		"distributions": []map[string]any{{
			"directory_url": base + whiteFolder,
			"rolie": map[string]any{
				"feeds":      []map[string]string{{"summary": "TLP:WHITE advisories of " + pub.Name, "tlp_label": "WHITE", "url": feedURL}},
				"categories": []string{base + whiteFolder + categoryName},
				"services":   []string{base + serviceName},
			},
		}},
		"last_updated":               stamp(updated),
		"list_on_CSAF_aggregators":   true,
		"mirror_on_CSAF_aggregators": true,
		"metadata_version":           "2.0",
		"publisher":                  publisherOf(pub),
		"role":                       "csaf_provider",
	}
	if id != nil {
		pm["role"] = "csaf_trusted_provider"
		pm["public_openpgp_keys"] = []map[string]string{{
			"fingerprint": id.Fingerprint(),
			"url":         base + "openpgp/" + id.Fingerprint() + ".asc",
		}}
	}
	return pm
}

func publisherOf(pub Publisher) publisher {
	return publisher{Category: "coordinator", Name: pub.Name, Namespace: pub.Namespace,
		ContactDetails: pub.ContactDetails, IssuingAuthority: pub.IssuingAuthority}
}

// listings are the directory listings of the provider's folders, which
// a provider's directory distribution offers (requirement 14).
func listings(fs fileSet, years map[string][]string, id *pgpmime.Identity, modified time.Time) {
	page := func(title string, links []string) []byte {
		var b strings.Builder
		b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) + "</title></head><body>\n<h1>" + html.EscapeString(title) + "</h1>\n<ul>\n")
		for _, l := range links {
			b.WriteString("<li><a href=\"" + html.EscapeString(l) + "\">" + html.EscapeString(l) + "</a></li>\n")
		}
		b.WriteString("</ul>\n</body></html>\n")
		return []byte(b.String())
	}
	const ctype = "text/html; charset=utf-8"
	root := []string{metadataName, serviceName, whiteFolder}
	if id != nil {
		root = append(root, "openpgp/")
		fs.add("openpgp/", ctype, page("/"+wellKnown+"openpgp/", []string{id.Fingerprint() + ".asc"}), modified)
	}
	fs.add("", ctype, page("/"+wellKnown, root), modified)
	white := []string{"index.txt", "changes.csv", feedName, categoryName}
	yearNames := make([]string, 0, len(years))
	for y := range years {
		yearNames = append(yearNames, y)
	}
	slices.Sort(yearNames)
	for _, y := range yearNames {
		white = append(white, y+"/")
		var links []string
		for _, name := range slices.Sorted(slices.Values(years[y])) {
			links = append(links, name, name+".sha256", name+".sha512")
			if id != nil {
				links = append(links, name+".asc")
			}
		}
		fs.add(whiteFolder+y+"/", ctype, page("/"+wellKnown+whiteFolder+y+"/", links), modified)
	}
	fs.add(whiteFolder, ctype, page("/"+wellKnown+whiteFolder, white), modified)
}
