// Package mailin receives mail for the team: an SMTP listener that writes
// each accepted message durably to a spool before it answers 250 (writes of
// concurrent sessions are committed together), an optional IMAP poller, and
// a MIME reader that turns a raw message into its bodies, attachments,
// links and forwarded messages, within limits on size, depth and parts.
// What the messages become (reports, replies on an incident) is the
// incident capability's business.
package mailin
