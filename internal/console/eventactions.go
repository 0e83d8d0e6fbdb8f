package console

// From the console's events: notify the events' organisations now,
// outside their digest schedule, and mark observations false positives
// (or remove the mark). Each takes the form field "event", one or more
// event hashes, from an event's page or a selection of the search.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store"
)

// Notifying now sends mail to constituents, which is what
// ManageNotifications covers; marking a false positive is handling the
// events, HandleIncidents. An analyst has both; a read-only role neither.
func (c *Console) eventActionRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /events/notify", c.member(auth.ManageNotifications, c.notifyEventsNow))
	m.HandleFunc("POST /events/false-positive", c.member(auth.HandleIncidents, c.markFalsePositives))
	m.HandleFunc("POST /events/false-positive/remove", c.member(auth.HandleIncidents, c.unmarkFalsePositives))
}

func init() {
	flashes["fp-marked"] = msgDoneFalsePositive
	flashes["fp-removed"] = msgDoneFalsePositiveRemoved
	flashes["notified-now"] = msgDoneNotifiedNow
	flashes["notified-none"] = msgDoneNotifiedNone
}

const (
	msgDoneFalsePositive        = "fp.done.marked"
	msgDoneFalsePositiveRemoved = "fp.done.removed"
	msgDoneNotifiedNow          = "fp.done.notified"
	msgDoneNotifiedNone         = "fp.done.notifiednone"
	msgFalsePositiveRefused     = "fp.refused"
	msgNotifyNowRefused         = "fp.notify.refused"
)

// eventActions is what an event's page offers and shows of them.
type eventActions struct {
	CanMark, CanNotify bool
	// Mark is the observation's false-positive mark, nil when none.
	Mark *notify.FalsePositive
	// MarkedHere is whether the mark was made from this event (rather
	// than from another sighting of the observation).
	MarkedHere bool
	MaxReason  int
}

// eventActionsOf returns the actions of se's page for v, and its mark.
func (c *Console) eventActionsOf(r *http.Request, v *visit, se store.StoredEvent) (*eventActions, error) {
	a := &eventActions{CanMark: v.can(auth.HandleIncidents), CanNotify: v.can(auth.ManageNotifications),
		MaxReason: notify.MaxFalsePositiveReason}
	key := notify.Key(se.Event)
	marks, err := c.store.GetFalsePositives(r.Context(), []event.Hash{key})
	if err != nil {
		return nil, err
	}
	if m, ok := marks[key]; ok {
		a.Mark, a.MarkedHere = &m, m.Event == se.Hash
	}
	return a, nil
}

// postedEvents reads the events the form names (field "event", each
// hash once), refusing an empty or too large selection and a hash that
// is malformed or not stored.
func (c *Console) postedEvents(r *http.Request) ([]store.StoredEvent, error) {
	values := r.PostForm["event"]
	if err := notify.CheckSelection(len(values)); err != nil {
		return nil, err
	}
	seen := map[event.Hash]bool{}
	out := make([]store.StoredEvent, 0, len(values))
	for _, s := range values {
		h, ok := event.ParseHash(strings.ToLower(strings.TrimSpace(s)))
		if !ok {
			return nil, &notify.InputError{Message: msgBadEventHash}
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		se, err := c.store.GetEvent(r.Context(), h)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &notify.InputError{Message: msgBadEventHash}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, se)
	}
	return out, nil
}

// backToEvents is where a form returns to: the page it was posted from
// when that is an events page (the search or an event), else the search.
func backToEvents(r *http.Request, events []store.StoredEvent) string {
	back := safeNext(r.PostFormValue("back"))
	if back == "/events" || strings.HasPrefix(back, "/events?") || strings.HasPrefix(back, "/events/") {
		return back
	}
	if len(events) == 1 {
		return "/events/" + events[0].Hash.String()
	}
	return "/events"
}

// refuseEvents answers a refused form: an input error is said on the
// error page in the visitor's language (status 400), anything else fails.
func (c *Console) refuseEvents(w http.ResponseWriter, r *http.Request, v *visit, heading string, err error) {
	var ie *notify.InputError
	if !errors.As(err, &ie) {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, http.StatusBadRequest, "error", heading,
		problemPage{Heading: heading, Message: ie.Message.In(c.catalog, v.lang)}, "", "")
}

func (c *Console) markFalsePositives(w http.ResponseWriter, r *http.Request, v *visit) {
	events, err := c.postedEvents(r)
	if err != nil {
		c.refuseEvents(w, r, v, msgFalsePositiveRefused, err)
		return
	}
	reason := r.PostFormValue("reason")
	marks, err := notify.FalsePositiveMarks(events, reason, v.user.ID, v.user.Name, c.now())
	if err != nil {
		c.refuseEvents(w, r, v, msgFalsePositiveRefused, err)
		return
	}
	if err := c.store.MarkFalsePositives(r.Context(), marks); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "event.falsepositive.mark", notify.EventsTarget(events), notify.MarksDetail(marks))
	redirectDone(w, r, backToEvents(r, events), "fp-marked")
}

func (c *Console) unmarkFalsePositives(w http.ResponseWriter, r *http.Request, v *visit) {
	events, err := c.postedEvents(r)
	if err != nil {
		c.refuseEvents(w, r, v, msgFalsePositiveRefused, err)
		return
	}
	n, err := c.store.UnmarkFalsePositives(r.Context(), notify.ObservationKeys(events))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "event.falsepositive.remove", notify.EventsTarget(events), fmt.Sprintf("%d marks removed", n))
	redirectDone(w, r, backToEvents(r, events), "fp-removed")
}

func (c *Console) notifyEventsNow(w http.ResponseWriter, r *http.Request, v *visit) {
	events, err := c.postedEvents(r)
	if err != nil {
		c.refuseEvents(w, r, v, msgNotifyNowRefused, err)
		return
	}
	rep, err := c.notifier.NotifyNow(r.Context(), c.now(), events)
	switch {
	case errors.Is(err, notify.ErrDisabled):
		c.problem(w, r, v, http.StatusConflict, msgNotifyNowRefused, msgNotifyDisabled)
		return
	case errors.Is(err, notify.ErrNoIdentity):
		c.problem(w, r, v, http.StatusConflict, msgNotifyNowRefused, msgNotifyNoKey)
		return
	}
	if err != nil {
		c.refuseEvents(w, r, v, msgNotifyNowRefused, err)
		return
	}
	c.audit(r.Context(), v, "event.notify", notify.EventsTarget(events), rep.AuditDetail())
	done := "notified-now"
	if rep.Messages == 0 {
		done = "notified-none"
	}
	redirectDone(w, r, backToEvents(r, events), done)
}

var (
	msgBadEventHash   = i18n.M("fp.error.event")
	msgNotifyNoKey    = "fp.notify.nokey"
	msgNotifyDisabled = "fp.notify.disabled"
)

// flagFalsePositives flags the rows (made from events, in order) whose
// observation is marked a false positive.
func (c *Console) flagFalsePositives(r *http.Request, events []store.StoredEvent, rows []eventRow) error {
	if len(events) == 0 {
		return nil
	}
	marks, err := c.store.GetFalsePositives(r.Context(), notify.ObservationKeys(events))
	if err != nil {
		return err
	}
	for i, se := range events {
		if _, ok := marks[notify.Key(se.Event)]; ok && i < len(rows) {
			rows[i].FalsePositive = true
		}
	}
	return nil
}
