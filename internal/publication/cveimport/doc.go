// Package cveimport reads CVE records (the CVE Record Format 5.x, the
// JSON the CVE Program publishes for every CVE ID) and turns one into
// the draft of an advisory: description, CVSS scores, CWEs, references
// and affected products, which the analyst edits from there.
//
// The decisions a reader needs to know:
//   - A record is outside input, often fetched by a script from the
//     public CVE list. ReadRecord reads at most MaxRecordSize bytes
//     nested at most MaxDepth deep, checks every field it uses against
//     the format, and refuses a malformed record with a
//     *publication.InputError whose Field is the JSON path of the field
//     that is wrong, for example containers.cna.affected[2].versions[0].lessThan.
//     A CVSS vector that does not score is refused the same way.
//   - A REJECTED record is refused with the reason the CNA gave
//     (IsRejected tells such a refusal from a malformed record), so that
//     nobody writes an advisory about a CVE ID that is no vulnerability.
//   - Fields the draft does not use are not checked: a record that a
//     later minor version of the format extends still reads.
//   - ReadDir walks a directory laid out like the public CVE list
//     (cves/2026/12xxx/CVE-2026-12345.json) inside the directory only
//     (os.Root: no symbolic link leads out), reads at most a given
//     number of records, and reports each refused file beside the
//     records it read.
//   - Draft takes the CNA's container first; the ADP containers (CISA's
//     Vulnrichment) add their CVSS scores, CWEs and references, and their
//     affected products only when the CNA gives none. Every CVSS vector
//     is scored by package cvss; the draft's severity is the highest
//     score's rating.
package cveimport
