// Package channel sends published publications out of the publication
// outbox: a Worker takes each configured channel's due deliveries, asks
// the channel's Sender to post them, and records the outcome with
// retries. The social channels live here too: Mastodon, Bluesky and
// signed webhooks, each a short text per language with the link to the
// publication's page on the public site.
//
// The decisions a reader needs to know:
//   - Only what publication.Public allows is sent. A delivery of a
//     publication that is not public (any TLP but CLEAR, any status but
//     published) is marked skipped and never reaches a Sender.
//   - The worker runs under a lease (internal/lease): of several `vigil
//     serve` processes on one database, one sends. A send whose answer was
//     lost is not posted twice on retry either: Mastodon gets an
//     Idempotency-Key, a Bluesky post has a record key derived from the
//     delivery (and is looked up before it is created again), and a
//     webhook carries the delivery's id for the receiver to deduplicate.
//   - A Sender says whether a failure is permanent (an HTTP 4xx other than
//     429: the request itself is wrong) or worth a retry (5xx, 429, a
//     network error); retries back off exponentially with jitter, respect
//     Retry-After, and give up after the configured attempts.
//   - Why a delivery failed or was skipped is kept as a catalogue message
//     (i18n's stored form), said in the reader's language where it is
//     shown; a server's own answer is quoted in it as it came.
//   - A channel removed from the configuration does not leave its
//     deliveries queued for ever: Run starts by marking them skipped.
//   - Secrets (tokens, app passwords, webhook keys) are configured as
//     references (env:NAME, file:PATH) and never logged or kept in a
//     delivery's error.
package channel
