// Package csaf is the team's CSAF 2.0 provider: every public advisory as
// a csaf_security_advisory document and every public warning as a
// csaf_informational_advisory, served with the files a trusted provider
// publishes (provider-metadata.json, the TLP:WHITE folder with a folder
// per year, index.txt, changes.csv, a ROLIE feed, .sha256 and .sha512
// files, detached OpenPGP signatures made with the team key and the
// public key beside them), and the import of CSAF documents that vendors
// send into drafts.
//
// The decisions a reader needs to know:
//   - Document builds one document in one language; the provider uses
//     each publication's primary language, so that a document's file name
//     (from its tracking id) names one file. Every document is checked
//     against the CSAF 2.0 JSON schema that github.com/gocsaf/csaf/v3
//     embeds, against that library's own model checks and against the
//     mandatory tests this package implements (Validate); a publication
//     that would make an invalid document is refused with the field.
//   - CSAF 2.0 speaks TLP 1: TLP:CLEAR is written as WHITE, and
//     AMBER+STRICT as AMBER with the original label in the distribution
//     text. The public provider serves TLP:WHITE only: GREEN, AMBER and
//     RED documents are never built into it, so no unauthenticated
//     request can reach them; teams share those through the portal and
//     the API, which ask TLP of their own.
//   - Advisories have status final; warnings, which describe something
//     still happening, interim; a publication not yet published (a
//     preview) draft, version 0.
//   - The provider is built from a Source in memory, and rebuilt only
//     when the Source's Generation moves, asked at most once a second.
package csaf
