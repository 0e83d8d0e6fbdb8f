// Package mailin receives mail for the team: an SMTP listener that writes
// each accepted message durably to a spool before it answers 250 (writes of
// concurrent sessions are committed together), an optional IMAP poller, and
// a MIME reader that turns a raw message into its bodies, attachments and
// forwarded messages, within limits on size, depth and parts.
// What the messages become (reports, replies on an incident) is the
// incident capability's business.
//
// The decisions a reader needs to know:
//
//   - A 250 is a promise: Server answers it only once the spool's
//     transaction has committed (Spool.PutMail). One committer goroutine
//     takes every message waiting and writes them in one transaction, so
//     that one fsync serves many sessions; a failed commit answers 451 to
//     each, and the sending server tries again.
//   - The raw message is kept as it arrived (no Received header added):
//     its SHA-256 is of the bytes the sender sent.
//   - Memory is bounded: a session holds at most max_message_bytes, the
//     sessions are bounded (in all and per client address), and the
//     committer's queue is bounded.
//   - Parse never fails a message for a broken part: what it cannot read
//     is kept as an opaque attachment with a note. It renders nothing,
//     follows nothing and opens no archive: HTML is a string, a zip is
//     bytes with a hash.
//   - The IMAP poller spools a batch before it marks it read or deletes
//     it: a crash in between reads the batch again (at least once).
package mailin
