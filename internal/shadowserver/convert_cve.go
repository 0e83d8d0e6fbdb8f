package shadowserver

import (
	"sort"
	"strings"
)

// extract_cve_from_tag is the converter Shadowserver's schema names for
// extra.cve in the scan_http_vulnerable and scan6_http_vulnerable reports.
// It registers itself here, beside the other converters, so that a schema
// naming it loads.
func init() {
	converters["extract_cve_from_tag"] = &converter{name: "extract_cve_from_tag", fn: extractCVEFromTag}
}

// extractCVEFromTag picks the CVE identifiers out of a tag cell, whose tags
// are separated by semicolons, as IntelMQ does: a tag counts when it is
// exactly "cve-", digits, "-", digits (lower case, as Shadowserver writes
// it). The identifiers come back as written, without repeats, sorted and
// joined by semicolons, for example "cve-2021-44228" for the tag
// "cve-2021-44228;log4j". A tag without any gives no value.
func extractCVEFromTag(v string, _ *row) (string, valueKind, error) {
	var found []string
	for _, t := range strings.Split(v, ";") {
		if isCVETag(t) {
			found = append(found, t)
		}
	}
	if len(found) == 0 {
		return "", valueNone, nil
	}
	sort.Strings(found)
	out := found[:1]
	for _, c := range found[1:] {
		if c != out[len(out)-1] {
			out = append(out, c)
		}
	}
	return strings.Join(out, ";"), valueString, nil
}

// isCVETag reports whether t is "cve-<digits>-<digits>".
func isCVETag(t string) bool {
	rest, ok := strings.CutPrefix(t, "cve-")
	if !ok {
		return false
	}
	year, number, ok := strings.Cut(rest, "-")
	return ok && allDigits(year) && allDigits(number)
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
