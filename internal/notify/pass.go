package notify

// One notification pass over the queue: what each organisation is told,
// rendered, addressed to the contacts who can receive it, and delivered to
// the outbox.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// pass is what the workers of one RunOnce share.
type pass struct {
	n           *Notifier
	pc          *passConfig
	id          *pgpmime.Identity
	now         time.Time
	teamDefault store.NotificationPolicy
	policies    map[int64]store.NotificationPolicy // by organisation ID
	// orgs holds every organisation by handle when the pass read them all
	// at once, lastDigest their digest times and tallies their "seen
	// again" tallies; nil when each is read as needed.
	orgs       map[string]store.Organisation
	lastDigest map[string][]byte
	tallies    map[string][]store.NotifiedKey
	notified   map[string]bool // the organisations told something
	// queued holds the queue by organisation (as pending) when the pass
	// read it at once; nil when each organisation's is read as needed.
	queued [][]store.PendingRecord
}

// tally returns org's "seen again" tally by key.
func (p *pass) tally(ctx context.Context, org string) (map[event.Hash]store.NotifiedKey, error) {
	list := p.tallies[org]
	if p.tallies == nil {
		var err error
		if list, err = p.n.store.ListRepeatedKeys(ctx, org, p.now); err != nil {
			return nil, fmt.Errorf("repeated keys of %s: %w", org, err)
		}
	}
	m := make(map[event.Hash]store.NotifiedKey, len(list))
	for _, k := range list {
		m[k.Key] = k
	}
	return m, nil
}

// organisation returns the organisation handle, store.ErrNotFound when
// there is none.
func (p *pass) organisation(ctx context.Context, handle string) (store.Organisation, error) {
	if p.orgs == nil {
		return p.n.store.GetOrganisationByHandle(ctx, handle)
	}
	o, ok := p.orgs[handle]
	if !ok {
		return o, fmt.Errorf("organisation %s: %w", handle, store.ErrNotFound)
	}
	return o, nil
}

// orgWork is the prepared work of one organisation.
type orgWork struct {
	org      string
	now      time.Time
	messages []store.OutboxMessage
	told     []store.NotifiedKey // observations told for the first time
	tally    []store.NotifiedKey // the new "seen again" tally, if tallyChanged
	done     []int64             // consumed pending notifications
	bytes    int
	err      error

	tallyChanged bool
	// queued is the organisation's queue when the pass read it at once
	// (bulk).
	queued     []store.PendingRecord
	bulk       bool
	digestSent bool
	mark       *scanMark // set when the queue below it only waits

	waiting, notified, repeats, duplicates, filtered, withheld, undeliverable int
	skipped                                                                   []SkippedContact
	unknown                                                                   bool
}

func (o *orgWork) empty() bool {
	return len(o.messages) == 0 && len(o.told) == 0 && !o.tallyChanged && len(o.done) == 0 && !o.digestSent
}

func (o *orgWork) applyMark(n *Notifier) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if o.mark != nil {
		n.scanned[o.org] = *o.mark
	} else {
		delete(n.scanned, o.org)
	}
}

// prepare does everything for one organisation but the commit.
func (p *pass) prepare(ctx context.Context, i int, handle string) *orgWork {
	o := &orgWork{org: handle, now: p.now}
	if p.queued != nil {
		// Each worker takes its own organisations' entries, and lets them
		// go when done.
		o.queued, o.bulk = p.queued[i], true
		p.queued[i] = nil
	}
	if err := p.prepareOrg(ctx, o); err != nil {
		o.err = err
	}
	return o
}

func (p *pass) prepareOrg(ctx context.Context, o *orgWork) error {
	org, err := p.organisation(ctx, o.org)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted since its events were tagged: nobody to tell. The events
		// stay in the store; only their queue entries go.
		o.unknown = true
		return p.eachPending(ctx, o, 0, func(pn store.PendingNotification) {
			o.done = append(o.done, pn.Seq)
		})
	}
	if err != nil {
		return fmt.Errorf("organisation %s: %w", o.org, err)
	}
	var own *store.NotificationPolicy
	if pol, ok := p.policies[org.ID]; ok {
		own = &pol
	}
	policy := Effective(org, own, p.teamDefault)
	stamp := p.teamDefault.Updated
	if own != nil {
		stamp = own.Updated
	}
	due, err := p.n.digestDue(ctx, o.org, policy.Digest, p.now, p.pc, p.lastDigest)
	if err != nil {
		return err
	}
	start := int64(0)
	if !due {
		p.n.mu.Lock()
		if m, ok := p.n.scanned[o.org]; ok && m.policy.Equal(stamp) {
			start = m.seq
		}
		p.n.mu.Unlock()
	}

	// size is how many events are pending, when the pass read them already:
	// the maps and lists below are made that large at once.
	size := len(o.queued)
	immediate := map[string][]store.StoredEvent{}
	digest := make([]store.StoredEvent, 0, size)
	// An event is queued once for an organisation (stored hashes are
	// unique): its seq by hash.
	seqOf := make(map[event.Hash]int64, size)
	o.done = make([]int64, 0, size)
	lastSeq := start
	err = p.eachPending(ctx, o, start, func(pn store.PendingNotification) {
		lastSeq = pn.Seq
		e := pn.Event
		switch {
		case e == nil || !Matches(policy, e):
			o.filtered++
			o.done = append(o.done, pn.Seq)
			return
		case strings.EqualFold(e.Value("tlp"), "RED"):
			// TLP:RED is for the named recipients of the source only.
			o.withheld++
			o.done = append(o.done, pn.Seq)
			return
		}
		se := store.StoredEvent{Hash: pn.Hash, Stored: pn.Stored, Event: e}
		switch {
		case Immediate(policy, e):
			typ := e.Value("classification.type")
			immediate[typ] = append(immediate[typ], se)
		case policy.Digest == store.DigestOff:
			o.filtered++
			o.done = append(o.done, pn.Seq)
			return
		case due:
			digest = append(digest, se)
		default:
			o.waiting++
			return
		}
		seqOf[pn.Hash] = pn.Seq
	})
	if err != nil {
		return err
	}
	if !due {
		o.mark = &scanMark{seq: lastSeq, policy: stamp}
	}
	if len(immediate) == 0 && len(digest) == 0 {
		return nil
	}

	// Which observations were told already, within the window.
	keyOf := make(map[event.Hash]event.Hash, len(seqOf))
	keys := make([]event.Hash, 0, len(seqOf))
	addKey := func(se store.StoredEvent) {
		if _, ok := keyOf[se.Hash]; ok {
			return
		}
		k := Key(se.Event)
		keyOf[se.Hash] = k
		keys = append(keys, k)
	}
	for _, list := range immediate {
		for _, se := range list {
			addKey(se)
		}
	}
	for _, se := range digest {
		addKey(se)
	}
	slices.SortFunc(keys, func(a, b event.Hash) int { return bytes.Compare(a[:], b[:]) })
	keys = slices.Compact(keys)
	known := map[event.Hash]store.NotifiedKey{}
	if p.notified == nil || p.notified[o.org] {
		if known, err = p.n.store.GetNotifiedKeys(ctx, o.org, keys, p.now); err != nil {
			return fmt.Errorf("notified keys of %s: %w", o.org, err)
		}
	}
	tally, err := p.tally(ctx, o.org)
	if err != nil {
		return err
	}
	isNew := make(map[event.Hash]bool, len(keys)) // told for the first time in this pass
	o.told = make([]store.NotifiedKey, 0, len(keys))
	window := p.pc.cfg.Window
	// fresh keeps the events to tell; the others are consumed as repeats.
	fresh := func(list []store.StoredEvent) []store.StoredEvent {
		out := list[:0:0]
		for _, se := range list {
			k := keyOf[se.Hash]
			o.done = append(o.done, seqOf[se.Hash])
			if isNew[k] {
				o.duplicates++ // the same observation twice in this pass
				continue
			}
			if t, ok := tally[k]; ok {
				t.Repeats++
				tally[k] = t
				o.repeats++
				o.tallyChanged = true
				continue
			}
			if prev, ok := known[k]; ok {
				prev.Repeats, prev.Summary = 1, Summary(se.Event)
				tally[k] = prev
				o.repeats++
				o.tallyChanged = true
				continue
			}
			isNew[k] = true
			o.told = append(o.told, store.NotifiedKey{Org: o.org, Key: k, FirstSent: p.now, Expires: p.now.Add(window)})
			out = append(out, se)
		}
		return out
	}
	types := make([]string, 0, len(immediate))
	for t := range immediate {
		types = append(types, t)
	}
	sort.Strings(types)
	var toRender []renderInput
	for _, t := range types {
		if list := fresh(immediate[t]); len(list) > 0 {
			toRender = append(toRender, renderInput{Kind: NameImmediate, Type: t, Events: list})
		}
	}
	reported := false // the digest reports the tally
	if len(digest) > 0 {
		o.digestSent = true
		if list := fresh(digest); len(list) > 0 {
			in := renderInput{Kind: NameDigest, Events: list}
			p.repeats(tally, &in)
			reported = len(tally) > 0
			toRender = append(toRender, in)
		}
	}

	rcpt := p.recipients(org)
	o.skipped = rcpt.skipped
	for _, in := range toRender {
		in.Org, in.Language, in.Format, in.Now = org, policy.Language, policy.Format, p.now
		msgs, err := p.pc.render.render(in)
		if err != nil {
			return fmt.Errorf("render %s of %s: %w", in.Kind, o.org, err)
		}
		for _, m := range msgs {
			ids := make([]int64, len(m.Events))
			for i, h := range m.Events {
				ids[i] = seqOf[h]
			}
			out, err := p.deliver(org, m, ids, rcpt)
			if err != nil {
				return fmt.Errorf("%s of %s: %w", in.Kind, o.org, err)
			}
			for _, om := range out {
				o.bytes += len(om.Body)
				if om.Status == store.MessageFailed {
					o.undeliverable++
				}
			}
			o.messages = append(o.messages, out...)
			if rcpt.reachable() {
				o.notified += len(m.Events)
			}
		}
	}
	switch {
	case !rcpt.reachable():
		// Nothing went out: the observations were not told, so a sighting
		// after the contacts are fixed must be new, and the "seen again"
		// counts keep running.
		o.told = nil
	case reported:
		clear(tally)
		o.tallyChanged = true
	}
	if o.tallyChanged {
		o.tally = make([]store.NotifiedKey, 0, len(tally))
		for _, k := range tally {
			o.tally = append(o.tally, k)
		}
		slices.SortFunc(o.tally, func(a, b store.NotifiedKey) int {
			if c := a.FirstSent.Compare(b.FirstSent); c != 0 {
				return c
			}
			return bytes.Compare(a.Key[:], b.Key[:])
		})
	}
	return nil
}

// repeats fills in the "seen again" list of a digest from the tally, the
// most repeated first; the digest reports every entry, the list shows the
// first maxRepeatLines.
func (p *pass) repeats(tally map[event.Hash]store.NotifiedKey, in *renderInput) {
	list := make([]store.NotifiedKey, 0, len(tally))
	for _, k := range tally {
		if k.Repeats > 0 {
			list = append(list, k)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Repeats != list[j].Repeats {
			return list[i].Repeats > list[j].Repeats
		}
		return list[i].Summary < list[j].Summary
	})
	for i, k := range list {
		if i >= maxRepeatLines {
			in.MoreRepeats++
			continue
		}
		in.Repeats = append(in.Repeats, Repeat{Summary: k.Summary, Times: k.Repeats, FirstSent: k.FirstSent})
	}
}

// eachPending calls fn for every pending notification of o after seq: from
// what the pass read for it, or else from the store.
func (p *pass) eachPending(ctx context.Context, o *orgWork, after int64, fn func(store.PendingNotification)) error {
	if o.bulk {
		for _, q := range o.queued {
			if q.Seq <= after {
				continue
			}
			pn := store.PendingNotification{Seq: q.Seq, Org: o.org, Hash: q.Hash, Stored: q.Stored}
			if q.Record != nil {
				e, err := event.DecodeRecord(q.Record)
				if err != nil {
					return fmt.Errorf("pending notifications of %s: event %s: %w", o.org, q.Hash, err)
				}
				store.WithoutWithheld(e)
				pn.Event = e
			}
			fn(pn)
		}
		o.queued = nil
		return nil
	}
	for {
		page, err := p.n.store.ListPendingNotifications(ctx, o.org, after, pendingPage)
		if err != nil {
			return fmt.Errorf("pending notifications of %s: %w", o.org, err)
		}
		for _, pn := range page {
			fn(pn)
			after = pn.Seq
		}
		if len(page) < pendingPage {
			return nil
		}
	}
}

// readAtOnceMax bounds how many pending events a pass reads at once: the
// queue read at once is held in memory until each organisation's turn,
// about 1.4 KB an event at peak. A larger queue is read organisation by
// organisation, slower but in bounded memory. (A variable for tests.)
var readAtOnceMax int64 = 2_000_000

// dense reports whether the pending events are at least a quarter of the
// events stored between the first and the last of them, and at most
// readAtOnceMax: then one scan of that stretch (readQueue) is cheaper
// than looking each up.
func dense(pending []store.PendingCount) bool {
	var total, first, last int64
	for i, c := range pending {
		total += c.Count
		if i == 0 || c.First < first {
			first = c.First
		}
		last = max(last, c.Last)
	}
	return total > 0 && total <= readAtOnceMax && total*4 >= last-first+1
}

// readQueue reads the whole queue at once, by organisation in the order of
// pending.
func (n *Notifier) readQueue(ctx context.Context, pending []store.PendingCount) ([][]store.PendingRecord, error) {
	index := make(map[string]int, len(pending))
	out := make([][]store.PendingRecord, len(pending))
	for i, c := range pending {
		index[c.Org] = i
		out[i] = make([]store.PendingRecord, 0, c.Count)
	}
	err := n.store.ScanPendingNotifications(ctx, func(r store.PendingRecord) error {
		for _, org := range r.Orgs {
			// An organisation queued since PendingNotificationOrgs is
			// left for the next pass.
			if i, ok := index[org]; ok {
				out[i] = append(out[i], store.PendingRecord{Seq: r.Seq, Hash: r.Hash, Stored: r.Stored, Record: r.Record})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read the queue: %w", err)
	}
	return out, nil
}

// recipientSet is who of an organisation can be told, and how.
type recipientSet struct {
	encrypt     []*mail.Address
	keys        []string
	plain       []*mail.Address
	skipped     []SkippedContact
	nobodyWhy   []string
	hasContacts bool
}

// reachable reports whether anybody can be sent the messages.
func (r recipientSet) reachable() bool { return len(r.encrypt)+len(r.plain) > 0 }

// recipients sorts the notify-contacts of org: those with a usable key get
// the message encrypted, those without a key get it signed, and those
// whose key is unusable (expired, revoked, broken) get nothing: sending
// them clear text would defeat the key they gave, and they are reported
// as skipped instead.
func (p *pass) recipients(org store.Organisation) recipientSet {
	var r recipientSet
	seen := map[string]bool{}
	for _, c := range org.Contacts {
		if !c.Notify {
			continue
		}
		r.hasContacts = true
		skip := func(reason string) {
			r.skipped = append(r.skipped, SkippedContact{Org: org.Handle, Email: c.Email, Reason: reason})
			who := c.Email
			if who == "" {
				who = c.Name
			}
			r.nobodyWhy = append(r.nobodyWhy, who+": "+reason)
		}
		addr, err := mail.ParseAddress(c.Email)
		if c.Email == "" || err != nil {
			skip("no valid e-mail address")
			continue
		}
		if seen[strings.ToLower(addr.Address)] {
			continue
		}
		seen[strings.ToLower(addr.Address)] = true
		addr.Name = c.Name
		if strings.TrimSpace(c.PGPKey) == "" {
			r.plain = append(r.plain, addr)
			continue
		}
		if ks := pgpmime.InspectKey(c.PGPKey, p.now); !ks.Usable {
			skip("OpenPGP key " + ks.Problem)
			continue
		}
		r.encrypt = append(r.encrypt, addr)
		r.keys = append(r.keys, c.PGPKey)
	}
	if !r.hasContacts {
		r.nobodyWhy = append(r.nobodyWhy, "no contact is marked to receive notifications")
	}
	return r
}

// deliver signs (and encrypts) one rendered message for the recipients:
// one message encrypted to every contact with a usable key, one signed for
// the contacts without a key. With nobody to send to it returns one
// failed message that says why, so that the notification log shows it.
func (p *pass) deliver(org store.Organisation, m rendered, eventIDs []int64, rcpt recipientSet) ([]store.OutboxMessage, error) {
	from := p.pc.from
	base := store.OutboxMessage{
		OrgID: org.ID, Org: org.Handle, Kind: m.kind, Sender: from.Address,
		Subject: m.Subject, Events: len(m.Events), EventIDs: eventIDs,
		Created: p.now,
	}
	header := func(to []*mail.Address) (gomail.Header, string, error) {
		var h gomail.Header
		h.SetDate(p.now)
		h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})
		if len(to) > 0 {
			list := make([]*gomail.Address, len(to))
			for i, a := range to {
				list[i] = &gomail.Address{Name: a.Name, Address: a.Address}
			}
			h.SetAddressList("To", list)
		}
		h.SetSubject(m.Subject)
		id, err := messageID(from.Address)
		if err != nil {
			return h, "", err
		}
		h.SetMessageID(id)
		// RFC 3834: no vacation replies to an automatic notification.
		h.Set("Auto-Submitted", "auto-generated")
		return h, id, nil
	}
	addresses := func(list []*mail.Address) []string {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = a.Address
		}
		return out
	}
	var out []store.OutboxMessage
	if len(rcpt.encrypt) > 0 {
		h, id, err := header(rcpt.encrypt)
		if err != nil {
			return nil, err
		}
		body, err := pgpmime.SignAndEncrypt(p.id, h, m.Entity, rcpt.keys)
		if err != nil {
			return nil, fmt.Errorf("sign and encrypt: %w", err)
		}
		msg := base
		msg.Recipients, msg.MessageID, msg.Body, msg.Encrypted = addresses(rcpt.encrypt), id, body, true
		out = append(out, msg)
	}
	if len(rcpt.plain) > 0 {
		h, id, err := header(rcpt.plain)
		if err != nil {
			return nil, err
		}
		body, err := pgpmime.Sign(p.id, h, m.Entity)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		msg := base
		msg.Recipients, msg.MessageID, msg.Body = addresses(rcpt.plain), id, body
		out = append(out, msg)
	}
	if len(out) == 0 {
		// Kept, signed and addressed to nobody, so that the log shows what
		// would have gone out and why it did not.
		h, id, err := header(nil)
		if err != nil {
			return nil, err
		}
		body, err := pgpmime.Sign(p.id, h, m.Entity)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		msg := base
		msg.MessageID, msg.Body = id, body
		msg.Status = store.MessageFailed
		msg.LastError = "no contact can receive notifications: " + strings.Join(rcpt.nobodyWhy, "; ")
		out = append(out, msg)
	}
	return out, nil
}

// messageID makes a unique Message-ID (without angle brackets) in the
// sender's domain.
func messageID(from string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	_, domain, _ := strings.Cut(from, "@")
	if domain == "" {
		domain = "vigil.invalid"
	}
	return hex.EncodeToString(b[:]) + "@" + domain, nil
}
