// Package incident is the team's case handling: the reports that reach it
// (by the public web form, by e-mail, by phone, from the portal, from the
// pipeline's alerts and from the console's events), the incidents they are
// grouped into, and everything an analyst does with an incident: its
// classification, TLP and PAP, severity, the organisations concerned, the
// assignee, the status workflow with its reasons, due dates from SLA rules,
// tasks from playbooks, observables, attachments, correspondence and the
// timeline of it all.
//
// The package declares the types and the store interface it needs;
// internal/incident/incidentdb keeps them on the shared SQL layer.
package incident
