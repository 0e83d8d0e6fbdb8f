package csaf

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gocsaf "github.com/gocsaf/csaf/v3/csaf"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigil-cert/vigil/internal/publication"
)

var cvePattern = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)

// Validate checks a CSAF 2.0 document three ways: against the CSAF 2.0
// JSON schema that github.com/gocsaf/csaf/v3 embeds, with that library's
// model checks, and with the mandatory tests of the standard's section
// 6.1 that this package implements (mandatory). It returns an
// *publication.InputError naming the first wrong field as a JSON path
// (document/tracking/id, vulnerabilities/0/cve), nil for a valid
// document.
func Validate(data []byte) error {
	return validate(data, nil)
}

// validate is Validate of data that read has decoded already into adv,
// so as not to decode a large document once more; nil to decode it.
func validate(data []byte, adv *advisory) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return publication.Refuse("", "csaf.error.json", err.Error())
	}
	errs, err := gocsaf.ValidateCSAF(doc)
	if err != nil {
		return publication.Refuse("", "csaf.error.schema", "", err.Error())
	}
	if len(errs) > 0 {
		loc, msg, _ := strings.Cut(errs[0], ": ")
		return publication.Refuse(strings.TrimPrefix(loc, "/"), "csaf.error.schema", loc, msg)
	}
	var model gocsaf.Advisory
	if err := json.Unmarshal(data, &model); err != nil {
		return publication.Refuse("", "csaf.error.json", err.Error())
	}
	if err := model.Validate(); err != nil {
		return publication.Refuse("", "csaf.error.model", err.Error())
	}
	if adv == nil {
		adv = new(advisory)
		if err := json.Unmarshal(data, adv); err != nil {
			return publication.Refuse("", "csaf.error.json", err.Error())
		}
	}
	return mandatory(adv)
}

// mandatory runs the mandatory tests this package implements: 6.1.1
// and 6.1.2 (product ids defined once and only used when defined), 6.1.6
// (contradicting product status, for affected against fixed and not
// affected), 6.1.14, 6.1.16, 6.1.21 and 6.1.22 (the revision history),
// 6.1.23 (a CVE used once), the profile tests 6.1.27.1 to 6.1.27.6, 6.1.29
// (remediations name products) and 6.1.31 (no range in a product
// version).
func mandatory(a *advisory) error {
	defined, err := definedProducts(a.ProductTree)
	if err != nil {
		return err
	}
	if err := profile(a); err != nil {
		return err
	}
	if err := revisionHistory(&a.Document.Tracking); err != nil {
		return err
	}
	cves := map[string]bool{}
	for i, v := range a.Vulnerabilities {
		path := "vulnerabilities/" + strconv.Itoa(i)
		if v.CVE != "" {
			if cves[v.CVE] {
				return publication.Refuse(path+"/cve", "csaf.error.test", "6.1.23", v.CVE)
			}
			cves[v.CVE] = true
		}
		for _, ref := range referencedProducts(&v) {
			if !defined[ref.id] {
				return publication.Refuse(path+"/"+ref.path, "csaf.error.test", "6.1.1", ref.id)
			}
		}
		if st := v.ProductStatus; st != nil {
			affected := map[string]bool{}
			for _, ids := range [][]string{st.FirstAffected, st.KnownAffected, st.LastAffected} {
				for _, id := range ids {
					affected[id] = true
				}
			}
			for _, id := range slices.Concat(st.Fixed, st.FirstFixed, st.KnownNotAffected) {
				if affected[id] {
					return publication.Refuse(path+"/product_status", "csaf.error.test", "6.1.6", id)
				}
			}
		}
		for j, r := range v.Remediations {
			if len(r.ProductIDs) == 0 && len(r.GroupIDs) == 0 {
				return publication.Refuse(path+"/remediations/"+strconv.Itoa(j), "csaf.error.test", "6.1.29", r.Category)
			}
		}
	}
	return nil
}

// profile runs the profile tests 6.1.27.1 to 6.1.27.6 of the two
// categories Vigil writes.
func profile(a *advisory) error {
	d := &a.Document
	if d.Category != CategorySecurity && d.Category != CategoryInformational {
		return nil
	}
	if !slices.ContainsFunc(d.Notes, func(n note) bool {
		return slices.Contains([]string{"description", "details", "general", "summary"}, n.Category)
	}) {
		return publication.Refuse("document/notes", "csaf.error.test", "6.1.27.1", d.Category)
	}
	if d.Category == CategoryInformational {
		if !slices.ContainsFunc(d.References, func(r reference) bool { return r.Category == "external" }) {
			return publication.Refuse("document/references", "csaf.error.test", "6.1.27.2", d.Category)
		}
		if len(a.Vulnerabilities) > 0 {
			return publication.Refuse("vulnerabilities", "csaf.error.test", "6.1.27.3", d.Category)
		}
		return nil
	}
	if a.ProductTree == nil {
		return publication.Refuse("product_tree", "csaf.error.test", "6.1.27.4", d.Category)
	}
	if len(a.Vulnerabilities) == 0 {
		return publication.Refuse("vulnerabilities", "csaf.error.test", "6.1.27.5", d.Category)
	}
	for i, v := range a.Vulnerabilities {
		if len(v.Notes) == 0 {
			return publication.Refuse("vulnerabilities/"+strconv.Itoa(i)+"/notes", "csaf.error.test", "6.1.27.5", d.Category)
		}
		if v.ProductStatus == nil {
			return publication.Refuse("vulnerabilities/"+strconv.Itoa(i)+"/product_status", "csaf.error.test", "6.1.27.6", d.Category)
		}
	}
	return nil
}

// rangeWords are what 6.1.31 forbids in a product_version's name.
var rangeWords = regexp.MustCompile(`(?i)(<|>|\b(after|all|before|earlier|later|prior|versions)\b)`)

// definedProducts collects the product ids the tree defines, refusing
// one defined twice (6.1.2) and a version that is a range (6.1.31).
func definedProducts(t *productTree) (map[string]bool, error) {
	defined := map[string]bool{}
	if t == nil {
		return defined, nil
	}
	define := func(p *product, path string) error {
		if p == nil {
			return nil
		}
		if defined[p.ID] {
			return publication.Refuse(path+"/product_id", "csaf.error.test", "6.1.2", p.ID)
		}
		defined[p.ID] = true
		return nil
	}
	var walk func(bs []branch, path string) error
	walk = func(bs []branch, path string) error {
		for i := range bs {
			b := &bs[i]
			here := path + "/" + strconv.Itoa(i)
			if b.Category == "product_version" && rangeWords.MatchString(b.Name) {
				return publication.Refuse(here+"/name", "csaf.error.test", "6.1.31", b.Name)
			}
			if err := define(b.Product, here+"/product"); err != nil {
				return err
			}
			if err := walk(b.Branches, here+"/branches"); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(t.Branches, "product_tree/branches"); err != nil {
		return nil, err
	}
	for i := range t.FullProductNames {
		if err := define(&t.FullProductNames[i], "product_tree/full_product_names/"+strconv.Itoa(i)); err != nil {
			return nil, err
		}
	}
	for i := range t.Relationships {
		if err := define(&t.Relationships[i].FullProductName, "product_tree/relationships/"+strconv.Itoa(i)+"/full_product_name"); err != nil {
			return nil, err
		}
	}
	return defined, nil
}

type productRef struct{ id, path string }

// referencedProducts lists the product ids a vulnerability uses, with
// where (6.1.1).
func referencedProducts(v *vulnerability) []productRef {
	var out []productRef
	add := func(ids []string, path string) {
		for i, id := range ids {
			out = append(out, productRef{id, path + "/" + strconv.Itoa(i)})
		}
	}
	if st := v.ProductStatus; st != nil {
		add(st.FirstAffected, "product_status/first_affected")
		add(st.FirstFixed, "product_status/first_fixed")
		add(st.Fixed, "product_status/fixed")
		add(st.KnownAffected, "product_status/known_affected")
		add(st.KnownNotAffected, "product_status/known_not_affected")
		add(st.LastAffected, "product_status/last_affected")
		add(st.Recommended, "product_status/recommended")
		add(st.UnderInvestigation, "product_status/under_investigation")
	}
	for i, s := range v.Scores {
		add(s.Products, "scores/"+strconv.Itoa(i)+"/products")
	}
	for i, r := range v.Remediations {
		add(r.ProductIDs, "remediations/"+strconv.Itoa(i)+"/product_ids")
	}
	return out
}

// revisionHistory runs 6.1.14 (sorted by date as by number), 6.1.16 (the
// last number is the version), 6.1.21 (no number missing, for integer
// versions) and 6.1.22 (no number twice).
func revisionHistory(t *tracking) error {
	const path = "document/tracking/revision_history"
	h := t.RevisionHistory
	if len(h) == 0 {
		return nil
	}
	_, intErr := strconv.Atoi(t.Version)
	integer := intErr == nil
	seen := map[string]bool{}
	for i, r := range h {
		if seen[r.Number] {
			return publication.Refuse(path+"/"+strconv.Itoa(i)+"/number", "csaf.error.test", "6.1.22", r.Number)
		}
		seen[r.Number] = true
		if i > 0 && integer && parseStamp(r.Date).Before(parseStamp(h[i-1].Date)) {
			return publication.Refuse(path+"/"+strconv.Itoa(i)+"/date", "csaf.error.test", "6.1.14", r.Date)
		}
		if integer {
			n, err := strconv.Atoi(r.Number)
			first, _ := strconv.Atoi(h[0].Number)
			if err != nil || n != first+i {
				return publication.Refuse(path+"/"+strconv.Itoa(i)+"/number", "csaf.error.test", "6.1.21", r.Number)
			}
		}
	}
	if integer && h[len(h)-1].Number != t.Version {
		return publication.Refuse("document/tracking/version", "csaf.error.test", "6.1.16", t.Version)
	}
	return nil
}
