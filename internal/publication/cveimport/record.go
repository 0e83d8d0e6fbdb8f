package cveimport

import (
	"errors"
	"io"
	"regexp"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/cvss"
)

// Record is what Vigil reads of a CVE record: the fields a draft is made
// from. The names follow the format's.
type Record struct {
	DataVersion string // 5.0, 5.1, …
	ID          string // cveMetadata.cveId: CVE-2026-12345
	State       string // cveMetadata.state: PUBLISHED (a REJECTED record is refused)
	Assigner    string // cveMetadata.assignerShortName
	Published   string // cveMetadata.datePublished, as written
	Updated     string // cveMetadata.dateUpdated, as written
	// CNA is the container of the CVE Numbering Authority that assigned
	// the ID; ADP the containers of Authorized Data Publishers (CISA's
	// Vulnrichment, the CVE Program's own references).
	CNA Container
	ADP []Container
}

// Container is one container of a record.
type Container struct {
	Provider     string // providerMetadata.shortName
	Title        string
	Descriptions []Description
	Solutions    []Description
	Workarounds  []Description
	Affected     []Affected
	ProblemTypes []ProblemType
	References   []Reference
	Metrics      []publication.CVSS // scored from the vectorStrings
}

// Description is a text in one language (lang is a BCP 47 tag: en,
// en-US, nl).
type Description struct {
	Lang  string
	Value string
}

// Affected is one entry of a container's affected list: a product and
// the status of its versions.
type Affected struct {
	Vendor        string
	Product       string
	CollectionURL string
	PackageName   string
	PackageURL    string
	CPEs          []string
	DefaultStatus string // affected, unaffected or unknown; "" is unknown
	Versions      []Version
}

// Version is one version entry: an exact version, or a range from
// Version up to LessThan (exclusive) or LessThanOrEqual (inclusive).
type Version struct {
	Version         string
	Status          string // affected, unaffected or unknown
	LessThan        string
	LessThanOrEqual string
	VersionType     string // semver, git, custom, …
}

// ProblemType is one problem type's descriptions: a CWE (CWEID set) or
// a text.
type ProblemType struct {
	Lang        string
	Description string
	CWEID       string // CWE-79
	Type        string // CWE, …
}

// Reference is a link the record cites.
type Reference struct {
	URL  string
	Name string
	Tags []string
}

var (
	cveID    = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}$`)
	cweID    = regexp.MustCompile(`^CWE-[1-9][0-9]{0,5}$`)
	statuses = []string{"affected", "unaffected", "unknown"}
)

// ReadRecord reads one CVE record (JSON, CVE Record Format 5.x). A
// record that is not one, or is malformed, is refused with a
// *publication.InputError naming the field; a REJECTED record is
// refused with its reason (IsRejected).
func ReadRecord(r io.Reader) (Record, error) {
	v, err := parse(r)
	if err != nil {
		return Record{}, err
	}
	var d decoder
	rec := d.record(node{v: v})
	if d.err != nil {
		return Record{}, d.err
	}
	return rec, nil
}

// IsRejected reports whether err is ReadRecord's refusal of a REJECTED
// record.
func IsRejected(err error) bool {
	var in *publication.InputError
	return errors.As(err, &in) && in.Message.ID == "publication.error.cve.rejected"
}

// record reads the whole record.
func (d *decoder) record(root node) Record {
	var rec Record
	if _, ok := root.v.(map[string]any); !ok {
		d.fail("", "publication.error.cve.datatype", "")
		return rec
	}
	if t, _ := root.key("dataType").v.(string); t != "CVE_RECORD" {
		d.fail("dataType", "publication.error.cve.datatype", clip(t, 40))
		return rec
	}
	version := root.key("dataVersion")
	rec.DataVersion = d.str(version, true)
	if d.err == nil && !strings.HasPrefix(rec.DataVersion, "5.") {
		d.fail(version.path, "publication.error.cve.version", clip(rec.DataVersion, 40))
	}
	meta := root.key("cveMetadata")
	if !d.object(meta, true) {
		return rec
	}
	id := meta.key("cveId")
	rec.ID = d.str(id, true)
	if d.err == nil && !cveID.MatchString(rec.ID) {
		d.fail(id.path, "publication.error.cve.id", clip(rec.ID, 40))
	}
	state := meta.key("state")
	rec.State = d.str(state, true)
	d.oneOf(state, rec.State, "PUBLISHED", "REJECTED")
	rec.Assigner = d.str(meta.key("assignerShortName"), false)
	rec.Published = d.str(meta.key("datePublished"), false)
	rec.Updated = d.str(meta.key("dateUpdated"), false)
	containers := root.key("containers")
	if !d.object(containers, true) || d.err != nil {
		return rec
	}
	cna := containers.key("cna")
	if !d.object(cna, true) {
		return rec
	}
	if rec.State == "REJECTED" {
		reasons := d.descriptions(cna.key("rejectedReasons"))
		if d.err == nil {
			d.err = publication.Refuse(state.path, "publication.error.cve.rejected", rec.ID, clip(english(reasons), 500))
		}
		return rec
	}
	rec.CNA = d.container(cna, true)
	for _, adp := range d.list(containers.key("adp")) {
		if d.object(adp, true) {
			rec.ADP = append(rec.ADP, d.container(adp, false))
		}
	}
	return rec
}

// container reads one container; the CNA's must describe the
// vulnerability.
func (d *decoder) container(n node, cna bool) Container {
	c := Container{
		Title:        d.str(n.key("title"), false),
		Descriptions: d.descriptions(n.key("descriptions")),
		Solutions:    d.descriptions(n.key("solutions")),
		Workarounds:  d.descriptions(n.key("workarounds")),
	}
	if provider := n.key("providerMetadata"); d.object(provider, false) {
		c.Provider = d.str(provider.key("shortName"), false)
	}
	if cna && d.err == nil && len(c.Descriptions) == 0 {
		d.fail(n.key("descriptions").path, "publication.error.cve.missing", n.key("descriptions").path)
	}
	for _, a := range d.list(n.key("affected")) {
		c.Affected = append(c.Affected, d.affected(a))
	}
	for _, pt := range d.list(n.key("problemTypes")) {
		if d.object(pt, true) {
			c.ProblemTypes = append(c.ProblemTypes, d.problemTypes(pt.key("descriptions"))...)
		}
	}
	for _, r := range d.list(n.key("references")) {
		c.References = append(c.References, d.reference(r))
	}
	for _, m := range d.list(n.key("metrics")) {
		c.Metrics = append(c.Metrics, d.metrics(m)...)
	}
	return c
}

// descriptions reads a list of texts in languages.
func (d *decoder) descriptions(n node) []Description {
	var out []Description
	for _, e := range d.list(n) {
		if d.object(e, true) {
			out = append(out, Description{Lang: d.str(e.key("lang"), true), Value: d.str(e.key("value"), true)})
		}
	}
	return out
}

// affected reads one product and its versions.
func (d *decoder) affected(n node) Affected {
	if !d.object(n, true) {
		return Affected{}
	}
	a := Affected{
		Vendor:        d.str(n.key("vendor"), false),
		Product:       d.str(n.key("product"), false),
		CollectionURL: d.str(n.key("collectionURL"), false),
		PackageName:   d.str(n.key("packageName"), false),
		PackageURL:    d.str(n.key("packageURL"), false),
		CPEs:          d.strings(n.key("cpes")),
	}
	status := n.key("defaultStatus")
	a.DefaultStatus = d.str(status, false)
	d.oneOf(status, a.DefaultStatus, statuses...)
	if d.err == nil && a.Product == "" && a.PackageName == "" {
		d.fail(n.key("product").path, "publication.error.cve.missing", n.key("product").path)
	}
	if purl := n.key("packageURL"); a.PackageURL != "" && !strings.HasPrefix(a.PackageURL, "pkg:") {
		d.fail(purl.path, "publication.error.cve.value", purl.path, clip(a.PackageURL, 80))
	}
	for _, v := range d.list(n.key("versions")) {
		a.Versions = append(a.Versions, d.version(v))
	}
	return a
}

// version reads one version entry.
func (d *decoder) version(n node) Version {
	if !d.object(n, true) {
		return Version{}
	}
	v := Version{
		Version:         d.str(n.key("version"), true),
		LessThan:        d.str(n.key("lessThan"), false),
		LessThanOrEqual: d.str(n.key("lessThanOrEqual"), false),
		VersionType:     d.str(n.key("versionType"), false),
	}
	status := n.key("status")
	v.Status = d.str(status, true)
	d.oneOf(status, v.Status, statuses...)
	switch {
	case d.err != nil:
	case v.LessThan != "" && v.LessThanOrEqual != "":
		d.fail(n.key("lessThanOrEqual").path, "publication.error.cve.both", n.path)
	case (v.LessThan != "" || v.LessThanOrEqual != "") && v.VersionType == "":
		// The format asks for the kind of version a range compares.
		d.fail(n.key("versionType").path, "publication.error.cve.missing", n.key("versionType").path)
	}
	return v
}

// problemTypes reads a problem type's descriptions.
func (d *decoder) problemTypes(n node) []ProblemType {
	var out []ProblemType
	for _, e := range d.list(n) {
		if !d.object(e, true) {
			continue
		}
		cwe := e.key("cweId")
		pt := ProblemType{
			Lang:        d.str(e.key("lang"), true),
			Description: d.str(e.key("description"), true),
			CWEID:       d.str(cwe, false),
			Type:        d.str(e.key("type"), false),
		}
		if pt.CWEID != "" && !cweID.MatchString(pt.CWEID) {
			d.fail(cwe.path, "publication.error.cve.value", cwe.path, clip(pt.CWEID, 80))
		}
		out = append(out, pt)
	}
	return out
}

// reference reads one link. Only web addresses are taken: a reference
// becomes a link on the public site.
func (d *decoder) reference(n node) Reference {
	if !d.object(n, true) {
		return Reference{}
	}
	u := n.key("url")
	r := Reference{URL: d.str(u, true), Name: d.str(n.key("name"), false), Tags: d.strings(n.key("tags"))}
	if d.err == nil && !webAddress(r.URL) {
		d.fail(u.path, "publication.error.cve.url", u.path, clip(r.URL, 80))
	}
	return r
}

// metricKeys are the CVSS versions a metrics entry can hold, the newest
// first.
var metricKeys = []string{"cvssV4_0", "cvssV3_1", "cvssV3_0"}

// metrics reads one metrics entry: each CVSS vector it holds, scored.
func (d *decoder) metrics(n node) []publication.CVSS {
	if !d.object(n, true) {
		return nil
	}
	var out []publication.CVSS
	for _, k := range metricKeys {
		m := n.key(k)
		if !d.object(m, false) {
			continue
		}
		vector := m.key("vectorString")
		s := d.str(vector, true)
		if d.err != nil {
			return nil
		}
		score, err := cvss.Score(s)
		if err != nil {
			var reason i18n.Message
			if in := (*publication.InputError)(nil); errors.As(err, &in) {
				reason = in.Message
			}
			d.fail(vector.path, "publication.error.cve.cvss", vector.path, reason)
			return nil
		}
		out = append(out, score)
	}
	return out
}

// english is the English text of ds, or the first one.
func english(ds []Description) string {
	for _, desc := range ds {
		if baseLang(desc.Lang) == "en" {
			return desc.Value
		}
	}
	if len(ds) > 0 {
		return ds[0].Value
	}
	return ""
}

// baseLang is the language of a BCP 47 tag, lower case: en for en-US.
func baseLang(tag string) string {
	lang, _, _ := strings.Cut(tag, "-")
	lang, _, _ = strings.Cut(lang, "_")
	return strings.ToLower(lang)
}
