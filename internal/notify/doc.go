// Package notify tells each constituent organisation about the events on
// its networks: it decides from the organisation's policy what is due,
// suppresses what was already told within the re-notification window,
// renders one message per organisation in its language (a readable summary
// with CSV, IntelMQ JSON or X-ARF attached), signs and encrypts it, and
// queues it in the outbox in the same transaction that records what was
// told and consumes the pending events (told.Store.CommitNotifications).
//
// The decisions a reader needs to know:
//
//   - An observation is identified by its notification key (Key): what was
//     seen where, without when and without the feed, so that Shadowserver's
//     daily report of the same open resolver is the same observation.
//     Within the window it is not told again; sightings are counted and the
//     next digest lists them as "seen again N times".
//   - Immediate types go out at every pass, one message per type; other
//     events wait in the queue until the organisation's digest is due (the
//     hour or the configured time of day has passed since its last digest).
//   - Every message is signed with the team's key. A contact with a usable
//     key gets it encrypted, one without a key signed; a contact whose key is
//     unusable gets nothing and is reported as skipped. When nobody can
//     receive it, a failed outbox message records why, and the events count
//     as handled but not told.
//   - Events marked TLP:RED are never sent on; extra.constituency (which
//     names the other organisations an event concerns) and raw are never in
//     an attachment.
//   - One store commit holds an organisation's messages, keys and consumed
//     events: a crash before it redoes the work, after it redoes nothing.
//   - The team's template overrides are checked when saved (ParseTemplate,
//     Check, Notifier.SaveTemplate); one that fails when sending is logged
//     and the built-in template is used instead.
//   - A disabled organisation (constituency.Organisation.Disabled) is told
//     nothing and its queue is held, not consumed: once it is enabled
//     again, the next pass tells it what waited. Messages already in the
//     outbox when it was disabled are still delivered, but a message is
//     not resent by hand to a disabled organisation (the API's
//     POST /notifications/{id}/resend refuses it).
//   - A deleted organisation's records go with it, in the delete's
//     transaction (told.ForgetOrganisation). A known race remains: a pass
//     that read the organisation before the delete can commit after it,
//     leaving rows under the retired handle (and queueing the messages it
//     rendered). It is harmless, as handles are never reused; reading the
//     organisations again in the commit's transaction would close it (see
//     constituencydb.DeleteHook).
package notify
