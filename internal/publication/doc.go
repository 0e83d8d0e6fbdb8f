// Package publication is the team's proactive work: advisories (a
// vulnerability, what it does, what to do), warnings (something happening
// now, pushed at once and pinned), news for citizens and the weekly
// digest, written once in several languages, reviewed by a second person,
// and published on every channel that applies: the public website, RSS
// and Atom feeds, the CSAF 2.0 provider, social media, the newsletter,
// the portal and the API, and a targeted notification to each constituent
// that runs an affected product.
//
// The package declares the types (Publication, Text, Product, CVSS,
// Revision, Delivery), the rules (Check, CheckTransition, the four-eyes
// rule in CanApprove, Public and Outdated) and the store interface
// (Publications); internal/publication/pubdb keeps them on the shared SQL
// layer. Sub-packages hold what the channels need: cvss (scores from
// vectors), cveimport (CVE JSON 5 records into drafts), markdown (the
// body rendered to sanitized HTML), csaf (the CSAF documents and the
// provider's files), channel (the publication outbox and the social
// channels), newsletter (subscribers and their mails) and products (what
// constituents run, and who an advisory concerns).
//
// The decisions a reader needs to know:
//   - Only a published TLP:CLEAR publication is public (Public). Every
//     public channel asks Public and nothing else, so that GREEN, AMBER
//     and RED content can reach only the portal and the API, of those
//     allowed.
//   - A publication's fields are kept as one JSON document beside the
//     columns its lists filter on; every change after the first
//     publication is a new Revision with a change note, and the history
//     of revisions is public.
//   - Publishing writes the new status, the revision and one Delivery per
//     channel and language in one transaction; the deliveries are sent
//     after, with retries, each with a status of its own.
package publication
