package api

// From the events: notify their organisations now, outside the digest
// schedule, and mark their observations false positives (or remove the
// marks), as the console's event page does.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store"
)

// eventsInput is the body of the event actions: the events' hashes and,
// to mark them, the reason.
type eventsInput struct {
	Events []string `json:"events"`
	Reason string   `json:"reason"`
}

// falsePositiveJSON is a mark.
type falsePositiveJSON struct {
	Observation string    `json:"observation"`
	Event       string    `json:"event"`
	Summary     string    `json:"summary"`
	Reason      string    `json:"reason"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
}

func toFalsePositiveJSON(m notify.FalsePositive) falsePositiveJSON {
	return falsePositiveJSON{Observation: m.Key.String(), Event: m.Event.String(), Summary: m.Summary, Reason: m.Reason,
		By: m.By, At: m.At}
}

type falsePositiveListJSON struct {
	FalsePositives []falsePositiveJSON `json:"false_positives"`
}

// notifyNowJSON is what a notification sent now did.
type notifyNowJSON struct {
	Organisations  []string `json:"organisations"`
	Messages       int      `json:"messages"`
	Notified       int      `json:"notified"`
	Undeliverable  int      `json:"undeliverable"`
	Withheld       int      `json:"withheld"`
	FalsePositives int      `json:"false_positives"`
	Untagged       int      `json:"untagged"`
	Unknown        []string `json:"unknown"`
	Disabled       []string `json:"disabled"`
}

// refusedInput turns a refusal of the notifier's rules into a 400 that
// says why.
func refusedInput(err error) error {
	var ie *notify.InputError
	if errors.As(err, &ie) {
		return errorText(http.StatusBadRequest, "bad_input", "", ie.Message)
	}
	return err
}

// bodyEvents decodes the body and reads its events (each hash once),
// refusing an empty or too large list and a hash that is malformed or not
// stored.
func (h *handler) bodyEvents(r *http.Request) (eventsInput, []store.StoredEvent, error) {
	var in eventsInput
	if err := decodeBody(r, &in); err != nil {
		return in, nil, err
	}
	if err := notify.CheckSelection(len(in.Events)); err != nil {
		return in, nil, refusedInput(err)
	}
	seen := map[event.Hash]bool{}
	out := make([]store.StoredEvent, 0, len(in.Events))
	for _, s := range in.Events {
		hash, ok := event.ParseHash(strings.ToLower(s))
		if !ok {
			return in, nil, badParameterText("events", i18n.M("fp.error.event"))
		}
		if seen[hash] {
			continue
		}
		seen[hash] = true
		se, err := h.store.GetEvent(r.Context(), hash)
		if errors.Is(err, store.ErrNotFound) {
			return in, nil, badParameterText("events", i18n.M("fp.error.event"))
		}
		if err != nil {
			return in, nil, err
		}
		out = append(out, se)
	}
	return in, out, nil
}

func (h *handler) markFalsePositives(r *http.Request, c *caller) (any, error) {
	in, events, err := h.bodyEvents(r)
	if err != nil {
		return nil, err
	}
	marks, err := notify.FalsePositiveMarks(events, in.Reason, c.user.ID, c.user.Name, time.Now())
	if err != nil {
		return nil, refusedInput(err)
	}
	if err := h.store.MarkFalsePositives(r.Context(), marks); err != nil {
		return nil, err
	}
	h.audit(r.Context(), c, "event.falsepositive.mark", notify.EventsTarget(events), notify.MarksDetail(marks))
	out := falsePositiveListJSON{FalsePositives: make([]falsePositiveJSON, len(marks))}
	for i, m := range marks {
		out.FalsePositives[i] = toFalsePositiveJSON(m)
	}
	return out, nil
}

func (h *handler) unmarkFalsePositives(r *http.Request, c *caller) (any, error) {
	_, events, err := h.bodyEvents(r)
	if err != nil {
		return nil, err
	}
	n, err := h.store.UnmarkFalsePositives(r.Context(), notify.ObservationKeys(events))
	if err != nil {
		return nil, err
	}
	h.audit(r.Context(), c, "event.falsepositive.remove", notify.EventsTarget(events), fmt.Sprintf("%d marks removed", n))
	return map[string]int{"removed": n}, nil
}

func (h *handler) listFalsePositives(r *http.Request, _ *caller) (any, error) {
	marks, err := h.store.ListFalsePositives(r.Context(), notify.MaxSelection)
	if err != nil {
		return nil, err
	}
	out := falsePositiveListJSON{FalsePositives: make([]falsePositiveJSON, len(marks))}
	for i, m := range marks {
		out.FalsePositives[i] = toFalsePositiveJSON(m)
	}
	return out, nil
}

func (h *handler) notifyEventsNow(r *http.Request, c *caller) (any, error) {
	if h.notifier == nil {
		return nil, errNoNotifier
	}
	_, events, err := h.bodyEvents(r)
	if err != nil {
		return nil, err
	}
	rep, err := h.notifier.NotifyNow(r.Context(), time.Now(), events)
	switch {
	case errors.Is(err, notify.ErrDisabled):
		return nil, errorText(http.StatusConflict, "notifications_disabled", "", i18n.M("fp.notify.disabled"))
	case errors.Is(err, notify.ErrNoIdentity):
		return nil, errorText(http.StatusConflict, "no_team_key", "", i18n.M("fp.notify.nokey"))
	}
	if err != nil {
		return nil, refusedInput(err)
	}
	h.audit(r.Context(), c, "event.notify", notify.EventsTarget(events), rep.AuditDetail())
	return notifyNowJSON{Organisations: nonNil(rep.Organisations), Messages: rep.Messages, Notified: rep.Notified,
		Undeliverable: rep.Undeliverable, Withheld: rep.Withheld, FalsePositives: rep.FalsePositives, Untagged: rep.Untagged,
		Unknown: nonNil(rep.Unknown), Disabled: nonNil(rep.Disabled)}, nil
}
