// Package taxonomy holds the Reference Security Incident Taxonomy (RSIT) used
// for classification.taxonomy and classification.type, extended with the
// extra types IntelMQ installations still emit, so events from either world
// validate.
package taxonomy

import "sort"

// Taxonomies maps each RSIT taxonomy (classification.taxonomy) to its types
// (classification.type). The last entries of some lists are IntelMQ's extra
// types, kept so that IntelMQ data imports unchanged.
var Taxonomies = map[string][]string{
	"abusive-content":              {"spam", "harmful-speech", "violence"},
	"malicious-code":               {"infected-system", "c2-server", "malware-distribution", "malware-configuration"},
	"information-gathering":        {"scanner", "sniffing", "social-engineering"},
	"intrusion-attempts":           {"ids-alert", "brute-force", "exploit"},
	"intrusions":                   {"privileged-account-compromise", "unprivileged-account-compromise", "application-compromise", "system-compromise", "burglary"},
	"availability":                 {"dos", "ddos", "misconfiguration", "outage", "sabotage"},
	"information-content-security": {"unauthorised-information-access", "unauthorised-information-modification", "data-loss", "data-leak"},
	"fraud":                        {"unauthorised-use-of-resources", "copyright", "masquerade", "phishing"},
	"vulnerable":                   {"weak-crypto", "ddos-amplifier", "potentially-unwanted-accessible", "information-disclosure", "vulnerable-system"},
	"other":                        {"other", "undetermined", "blacklist", "dga-domain", "malware", "tor", "unknown"},
	"test":                         {"test"},
}

var typeToTaxonomy = func() map[string]string {
	m := make(map[string]string)
	for tax, types := range Taxonomies {
		for _, t := range types {
			m[t] = tax
		}
	}
	return m
}()

// TaxonomyOf returns the taxonomy a classification type belongs to.
func TaxonomyOf(classificationType string) (string, bool) {
	t, ok := typeToTaxonomy[classificationType]
	return t, ok
}

// ValidTaxonomy reports whether name is a known classification.taxonomy.
func ValidTaxonomy(name string) bool {
	_, ok := Taxonomies[name]
	return ok
}

// ValidType reports whether name is a known classification.type.
func ValidType(name string) bool {
	_, ok := typeToTaxonomy[name]
	return ok
}

// Names returns the taxonomy names, sorted.
func Names() []string {
	names := make([]string, 0, len(Taxonomies))
	for n := range Taxonomies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Types returns every classification type, sorted.
func Types() []string {
	types := make([]string, 0, len(typeToTaxonomy))
	for t := range typeToTaxonomy {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}
