// Package products is what the constituents run and which advisories
// concern them: each organisation declares its products (a CPE 2.3 name,
// a Package URL, or a vendor, product and version typed in), and an
// advisory's affected products and version ranges are matched against
// those declarations, so that each constituent is told only of what
// concerns it, and sees it first in its portal.
//
// The decisions a reader needs to know:
//   - Names are compared normalised (NormaliseName): case, spaces,
//     hyphens and underscores do not tell two products apart, as CPE
//     names write "internet_explorer" where a person writes "Internet
//     Explorer".
//   - Versions are compared by CompareVersions, a generic comparator
//     (numbers as numbers, pre-releases before their release, a "v"
//     prefix ignored); a declaration without a version matches any
//     range, and the match says the version is unknown.
//   - Which organisation a declaration belongs to is decided by its
//     OrgID, in the store's queries and in Owned, and nowhere else: the
//     portal asks with the signed-in user's organisation only.
//   - A constituent is told of an advisory once per revision: the record
//     of it and the outbox message are written in one transaction.
package products
