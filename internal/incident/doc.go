// Package incident is the team's case handling: the reports that reach it
// (by the public web form, by e-mail, by phone, from the portal, from the
// pipeline's alerts and from the console's events), the incidents they are
// grouped into, and everything an analyst does with an incident: its
// classification, TLP and PAP, severity, the organisations concerned, the
// assignee, the status workflow with its reasons, due dates from SLA rules,
// tasks from playbooks, observables, attachments, correspondence and the
// timeline of it all.
//
// The package declares the types, the rules (CheckReport, CheckIncident,
// CheckTransition, SLA, PlaybookFor, GroupingKeys, SubjectTag) and the
// narrow store interfaces its Service uses (Intake, Cases, Blobs; Queries
// for the lists); internal/incident/incidentdb keeps them on the shared
// SQL layer.
//
// The decisions a reader needs to know:
//   - A report's status token is kept only as its SHA-256, and looked up
//     by the report's tracking number, so that the token is compared in
//     constant time in Go rather than found by an index.
//   - Grouping happens in the transaction that stores the report: a URL,
//     domain or sender address shared with an open incident links the
//     report to it; shared with another new report, it opens an incident
//     of both. The first report of something waits in the triage queue.
//   - Every operation of an analyst writes its change and its timeline
//     lines in one transaction, then its audit entry.
//   - Refused input is an *InputError carrying a catalogue message, so the
//     console and the API say it in the reader's language.
package incident
