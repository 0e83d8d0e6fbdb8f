package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
)

// The team's notification log, and sending a message again.

var notificationParams = []string{"organisation", "status", "limit", "before"}

var notificationStatuses = []string{outbox.MessageQueued, outbox.MessageSent, outbox.MessageFailed}

// teamNotificationJSON is one outbox message as the team sees it: what a
// constituent sees of its own, and the delivery details.
type teamNotificationJSON struct {
	notificationJSON
	OrganisationID int64      `json:"organisation_id"`
	Organisation   string     `json:"organisation"`
	Attempts       int        `json:"attempts"`
	NextAttempt    *time.Time `json:"next_attempt,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	Reply          string     `json:"reply,omitempty"`
}

type teamNotificationPageJSON struct {
	Notifications []teamNotificationJSON `json:"notifications"`
	// NextBefore is the before parameter of the following page; absent on
	// the last one.
	NextBefore int64 `json:"next_before,omitempty"`
}

func toTeamNotification(m outbox.Message) teamNotificationJSON {
	out := teamNotificationJSON{
		notificationJSON: notificationJSON{ID: m.ID, Kind: m.Kind, Subject: m.Subject, Recipients: nonNil(m.Recipients),
			Events: m.Events, Encrypted: m.Encrypted, Status: m.Status, Created: m.Created.UTC(), Sent: optionalTime(m.Sent)},
		OrganisationID: m.OrgID, Organisation: m.Org, Attempts: m.Attempts, LastError: m.LastError, Reply: m.Reply,
	}
	if m.Status == outbox.MessageQueued {
		out.NextAttempt = optionalTime(m.NextAttempt)
	}
	return out
}

func (h *handler) listNotifications(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, notificationParams); err != nil {
		return nil, err
	}
	q := outbox.MessageQuery{Status: values.Get("status")}
	if q.Status != "" && !slices.Contains(notificationStatuses, q.Status) {
		return nil, badParameterText("status", i18n.M("api.error.notifications.status"))
	}
	var err error
	if q.OrgID, err = intParam(values, "organisation", 0, 1<<62); err != nil {
		return nil, err
	}
	limit, err := intParam(values, "limit", defaultPageSize, 1000)
	if err != nil {
		return nil, err
	}
	if q.BeforeID, err = intParam(values, "before", 0, 1<<62); err != nil {
		return nil, err
	}
	q.Limit = int(limit) + 1
	msgs, err := h.store.ListMessages(r.Context(), q)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	out := teamNotificationPageJSON{Notifications: []teamNotificationJSON{}}
	if len(msgs) > int(limit) {
		msgs = msgs[:limit]
		out.NextBefore = msgs[len(msgs)-1].ID
	}
	for _, m := range msgs {
		out.Notifications = append(out.Notifications, toTeamNotification(m))
	}
	return out, nil
}

// resendNotification puts a failed message back in the outbox, due now,
// or makes a queued one due now. A sent message is never sent again: the
// store refuses it, so that no constituent gets one message twice.
func (h *handler) resendNotification(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	m, err := h.store.GetMessage(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.notification.notfound"))
	}
	if err != nil {
		return nil, fmt.Errorf("get notification %d: %w", id, err)
	}
	errSent := errorText(http.StatusConflict, "already_sent", "", i18n.M("api.error.notification.sent"))
	if m.Status == outbox.MessageSent {
		return nil, errSent
	}
	// A disabled organisation is not notified: its messages wait, and a
	// resend by hand would go around that.
	if o, err := h.store.GetOrganisation(ctx, m.OrgID); err == nil && o.Disabled {
		return nil, errorText(http.StatusConflict, "organisation_disabled", "", i18n.M("api.error.notification.disabled", o.Handle))
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("organisation of notification %d: %w", id, err)
	}
	err = h.store.RetryMessage(ctx, m.ID, m.Attempts, time.Now().UTC(), m.LastError)
	switch {
	case errors.Is(err, store.ErrConflict):
		// Delivered since it was read.
		return nil, errSent
	case err != nil:
		return nil, fmt.Errorf("resend notification %d: %w", id, err)
	}
	h.audit(ctx, c, "notification.resend", "notification "+strconv.FormatInt(m.ID, 10),
		fmt.Sprintf("%s, was %s after %d attempts", m.Org, m.Status, m.Attempts))
	if m, err = h.store.GetMessage(ctx, id); err != nil {
		return nil, fmt.Errorf("get notification %d: %w", id, err)
	}
	return toTeamNotification(m), nil
}
