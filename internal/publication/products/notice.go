package products

// The text of the message that tells an organisation of an advisory
// that concerns it, in its language.

import (
	"fmt"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/publication"
)

// AdvisoryLink is the address of an advisory in the portal whose root
// portalURL is (notify.portal_url: "https://vigil.example/portal", or
// the site's root, to which /portal is added); "" without one.
func AdvisoryLink(portalURL, ident string) string {
	base := strings.TrimRight(portalURL, "/")
	if base == "" {
		return ""
	}
	if !strings.HasSuffix(base, "/portal") {
		base += "/portal"
	}
	return base + "/advisories/" + ident
}

// DescribeRange says in lang which versions r affects.
func DescribeRange(cat *i18n.Catalog, lang string, r *publication.VersionRange) string {
	switch {
	case r == nil:
		return cat.T(lang, "products.range.all")
	case r.Introduced == "" && r.Fixed == "" && r.LastAffected == "":
		if r.Version == "" || r.Version == "*" {
			return cat.T(lang, "products.range.all")
		}
		return cat.T(lang, "products.range.exact", r.Version)
	}
	from := r.Introduced
	if from == "" {
		from = r.Version
	}
	if from == "0" || from == "*" {
		from = ""
	}
	var parts []string
	if from != "" {
		parts = append(parts, cat.T(lang, "products.range.from", from))
	}
	if r.Fixed != "" {
		parts = append(parts, cat.T(lang, "products.range.fixed", r.Fixed))
	}
	if r.LastAffected != "" {
		parts = append(parts, cat.T(lang, "products.range.last", r.LastAffected))
	}
	return strings.Join(parts, ", ")
}

// DescribeMatch says in lang which declared product m is and why it is
// affected.
func DescribeMatch(cat *i18n.Catalog, lang string, m Match) string {
	d := m.Declaration
	name := strings.TrimSpace(d.Vendor + " " + d.Product)
	if m.VersionUnknown {
		return cat.T(lang, "products.match.unknown", name)
	}
	return cat.T(lang, "products.match.version", name, d.Version, DescribeRange(cat, lang, m.Range))
}

// Letter is the message telling org (its display name) of adv, in lang:
// which of its declared products match which versions, the advisory's
// title, severity, summary and recommendations, and the link.
func Letter(cat *i18n.Catalog, lang, orgName string, adv publication.Publication, matches []Match, link string) notify.Letter {
	text, _ := adv.Text(lang)
	t := func(id string, args ...any) string { return cat.T(lang, id, args...) }
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", t("products.mail.greeting", orgName))
	fmt.Fprintf(&b, "%s\n\n", t("products.mail.intro", adv.Ident, text.Title))
	for _, m := range matches {
		fmt.Fprintf(&b, "  - %s\n", DescribeMatch(cat, lang, m))
	}
	b.WriteString("\n")
	severity := adv.Severity
	if cat.Has("products.severity." + severity) {
		severity = t("products.severity." + severity)
	}
	fmt.Fprintf(&b, "%s %s\n", t("products.mail.severity"), severity)
	fmt.Fprintf(&b, "TLP:%s\n", adv.TLP)
	if len(adv.CVEs) > 0 {
		fmt.Fprintf(&b, "CVE: %s\n", strings.Join(adv.CVEs, ", "))
	}
	if text.Summary != "" {
		fmt.Fprintf(&b, "\n%s\n%s\n", t("products.mail.summary"), text.Summary)
	}
	if len(text.Recommendations) > 0 {
		fmt.Fprintf(&b, "\n%s\n", t("products.mail.recommendations"))
		for _, r := range text.Recommendations {
			kind := r.Kind
			if cat.Has("products.recommend." + kind) {
				kind = t("products.recommend." + kind)
			}
			fmt.Fprintf(&b, "  - %s\n", t("products.mail.item", kind, r.Text))
		}
	}
	if link != "" {
		fmt.Fprintf(&b, "\n%s\n%s\n", t("products.mail.link"), link)
	}
	if adv.TLP != publication.TLPClear && adv.TLP != publication.TLPGreen {
		fmt.Fprintf(&b, "\n%s\n", t("products.mail.amber"))
	}
	fmt.Fprintf(&b, "\n%s\n", t("products.mail.why"))
	return notify.Letter{Kind: "advisory", Subject: t("products.mail.subject", adv.Ident, text.Title), Text: b.String()}
}
