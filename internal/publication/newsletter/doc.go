// Package newsletter is the publications' mailing list: people subscribe
// on a public form in their language with double opt-in, receive the
// weekly digest and, when they asked for them, warnings at once, and
// leave with one click (RFC 8058). The team manages the subscribers in
// the console. internal/publication/newsletter/newsletterdb keeps the
// subscribers, the issues and each issue's sends on SQLite and
// PostgreSQL.
//
// The decisions a reader needs to know:
//   - Only what publication.Publication.Public allows is ever sent: the
//     channel asks it, and nothing else, before it queues an issue.
//   - Queueing an issue is one set-based INSERT … SELECT of one send per
//     subscriber in the audience, in the transaction that
//     records the issue; each mail is rendered when it is sent, in the
//     subscriber's language (the publication's primary language when it
//     has no text in theirs), so that only the unsubscribe link differs
//     between two mails of one language.
//   - A mail is sent at most once. A send is marked "sending" in a commit
//     of its own before its SMTP transaction starts and "sent" after the
//     relay's answer; a send still "sending" when the mailer starts (the
//     process was killed in between) is not sent again but marked
//     "unknown", for the operator to look at. An answer lost on a broken
//     connection after the end of DATA is "unknown" too.
//   - Tokens: the confirmation link carries a random secret whose SHA-256
//     is stored; the unsubscribe link carries an HMAC of the subscriber's
//     id under a server secret, so that each mail carries it without a
//     lookup. Both are compared in constant time. Opening the
//     confirmation link only checks it (CheckConfirm); its page's button
//     confirms (Confirm), since mail gateways fetch the links they scan.
//   - A withdrawal skips the publication's queued mails at once
//     (Mailer.Withdrawn, Store.SkipQueued); the mailer still asks before
//     each mail whether the publication is current.
//   - Subscribing answers the same whether or not the address is known,
//     sends at most one confirmation per address an hour, and never
//     changes a confirmed subscription.
package newsletter
