package notify

// Notifying now: an analyst chooses events and their organisations are
// told at once, outside their digest schedule, by the same rendering,
// signing, encryption and commit as a pass.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/store"
)

// NowReport says what NotifyNow did.
type NowReport struct {
	// Organisations are the handles told, Messages the outbox messages
	// queued for them and Notified the events they report.
	Organisations      []string
	Messages, Notified int
	Undeliverable      int
	Skipped            []SkippedContact
	// Withheld counts chosen events marked TLP:RED, FalsePositives those
	// whose observation is marked a false positive, Untagged those that
	// concern no organisation: none of them is sent.
	Withheld, FalsePositives, Untagged int
	// Unknown are organisations named by the events but not (or no
	// longer) in the constituency, Disabled those disabled: neither is
	// told.
	Unknown, Disabled []string
}

// ErrDisabled is returned by NotifyNow when notifications are switched
// off in the configuration (notify.enabled): nothing is sent by hand
// either.
var ErrDisabled = errors.New("notify: notifications are disabled")

// NotifyNow tells the organisations of events (as stored, with
// extra.constituency, at most MaxSelection) about them at once: for each
// organisation one message as its digest is made (its language and
// format, signed and encrypted as usual, parted when large), with none of
// the policy's filters, since the analyst chose the events. TLP:RED
// events and false positives are left out. The observations count as
// told from now (within the window a sighting is "seen again"), and the
// events' entries in the organisation's queue are consumed in the same
// commit as the messages, so that the next digest does not repeat them;
// the digest schedule itself is left as it was. It runs between passes,
// never during one.
func (n *Notifier) NotifyNow(ctx context.Context, now time.Time, events []store.StoredEvent) (NowReport, error) {
	var rep NowReport
	if err := CheckSelection(len(events)); err != nil {
		return rep, err
	}
	n.run.Lock()
	defer n.run.Unlock()
	n.mu.Lock()
	pc, id := n.pass, n.identity
	n.mu.Unlock()
	if !pc.cfg.Enabled {
		return rep, ErrDisabled
	}
	if id == nil {
		return rep, ErrNoIdentity
	}
	if pc.from == nil {
		return rep, errors.New("notify: no sender address (notify.from)")
	}
	byOrg, hashes, err := n.sortChosen(ctx, events, &rep)
	if err != nil {
		return rep, err
	}
	entries, err := n.store.EventEntries(ctx, hashes)
	if err != nil {
		return rep, fmt.Errorf("notify: %w", err)
	}
	p, err := n.newPass(ctx, pc, id, now, false)
	if err != nil {
		return rep, err
	}
	var batch []*orgWork
	for _, handle := range slices.Sorted(maps.Keys(byOrg)) {
		o, err := p.prepareNow(ctx, handle, byOrg[handle], entries, &rep)
		if err != nil {
			return rep, err
		}
		if o != nil {
			batch = append(batch, o)
		}
	}
	if len(batch) == 0 {
		return rep, nil
	}
	var (
		passRep Report
		mu      sync.Mutex
	)
	if err := n.commit(ctx, batch, &passRep, &mu); err != nil {
		return rep, err
	}
	rep.Messages, rep.Notified, rep.Undeliverable = passRep.Messages, passRep.Notified, passRep.Undeliverable
	rep.Skipped = passRep.Skipped
	for _, o := range batch {
		rep.Organisations = append(rep.Organisations, o.org)
	}
	return rep, nil
}

// sortChosen sorts the chosen events by organisation, each without the
// fields never sent on, and counts those not to send: TLP:RED, false
// positives and events of nobody.
func (n *Notifier) sortChosen(ctx context.Context, events []store.StoredEvent, rep *NowReport) (map[string][]store.StoredEvent, []event.Hash, error) {
	marked, err := n.store.GetFalsePositives(ctx, ObservationKeys(events))
	if err != nil {
		return nil, nil, fmt.Errorf("notify: %w", err)
	}
	byOrg := map[string][]store.StoredEvent{}
	seen := map[event.Hash]bool{}
	var hashes []event.Hash
	for _, se := range events {
		if seen[se.Hash] || se.Event == nil {
			continue
		}
		seen[se.Hash] = true
		orgs := store.EventOrganisations(se.Event)
		switch {
		case strings.EqualFold(se.Event.Value("tlp"), "RED"):
			rep.Withheld++
			continue
		case len(orgs) == 0:
			rep.Untagged++
			continue
		}
		if _, ok := marked[Key(se.Event)]; ok {
			rep.FalsePositives++
			continue
		}
		e := se.Event.Clone()
		store.WithoutWithheld(e)
		hashes = append(hashes, se.Hash)
		for _, org := range orgs {
			byOrg[org] = append(byOrg[org], store.StoredEvent{Hash: se.Hash, Stored: se.Stored, Event: e})
		}
	}
	return byOrg, hashes, nil
}

// prepareNow renders org's message of list and returns its work for the
// commit; nil when the organisation is not told (unknown or disabled).
func (p *pass) prepareNow(ctx context.Context, handle string, list []store.StoredEvent, entries map[event.Hash]eventEntry, rep *NowReport) (*orgWork, error) {
	org, err := p.organisation(ctx, handle)
	switch {
	case errors.Is(err, store.ErrNotFound):
		rep.Unknown = append(rep.Unknown, handle)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("notify: organisation %s: %w", handle, err)
	case org.Disabled:
		rep.Disabled = append(rep.Disabled, handle)
		return nil, nil
	}
	var own *Policy
	if pol, ok := p.policies[org.ID]; ok {
		own = &pol
	}
	policy := Effective(org, own, p.teamDefault)
	o := &orgWork{org: handle, now: p.now, toldExpires: p.now.Add(p.pc.cfg.Window)}
	seqs := make([]int64, 0, len(list))
	var queued []int64
	for _, se := range list {
		entry := entries[se.Hash]
		seqs = append(seqs, entry.ID)
		if entry.ID != 0 && slices.Contains(entry.Queued, handle) {
			queued = append(queued, entry.ID)
		}
		o.told = append(o.told, Key(se.Event))
	}
	rcpt := p.recipients(org)
	o.skipped = rcpt.skipped
	in := renderInput{Kind: NameDigest, Events: list, Seqs: seqs}
	if err := p.renderAll(o, org, policy, []renderInput{in}, rcpt); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if !rcpt.reachable() {
		// Nothing went out (the failed message says why): the queue and
		// what counts as told stay as they were, for the digest.
		o.told = nil
		return o, nil
	}
	// Only entries read as queued are consumed: the store consumes a
	// range when it is whole.
	o.done = queued
	return o, nil
}

// eventEntry is a stored event's id and the queues that hold it.
type eventEntry = told.EventEntry

// AuditDetail says what r did in an audit entry's Detail.
func (r NowReport) AuditDetail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages, %d events to %s", r.Messages, r.Notified, strings.Join(r.Organisations, ", "))
	for _, c := range []struct {
		n    int
		what string
	}{{r.Withheld, "TLP:RED withheld"}, {r.FalsePositives, "false positives"}, {r.Untagged, "of no organisation"},
		{r.Undeliverable, "undeliverable"}} {
		if c.n > 0 {
			fmt.Fprintf(&b, "; %d %s", c.n, c.what)
		}
	}
	if len(r.Unknown) > 0 {
		b.WriteString("; unknown " + strings.Join(r.Unknown, ", "))
	}
	if len(r.Disabled) > 0 {
		b.WriteString("; disabled " + strings.Join(r.Disabled, ", "))
	}
	return b.String()
}
