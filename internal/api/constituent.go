package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
)

// The constituent routes give a constituent organisation's tokens its own
// events (n6-style). The organisation always comes from the token's user,
// never from the request: there is no parameter that names one. Its events
// are read through constituency.EventsOf only (the index of events by
// organisation, each event without what notifications withhold), so the
// single-event route answers another organisation's event exactly like a
// missing one; constituent_isolation_test.go fails when a constituent
// route reads the events from the store itself.

var constituents = []auth.Role{auth.RoleConstituent}

// constituentEventParams are eventParams without the organisation filter,
// which the caller's account decides.
var constituentEventParams = slices.DeleteFunc(slices.Clone(eventParams), func(p string) bool { return p == "org" })

var errNoOrganisation = errorText(http.StatusForbidden, "no_organisation", "", i18n.M("api.error.constituent.noorg"))

var errOrganisationDisabled = errorText(http.StatusForbidden, "organisation_disabled", "", i18n.M("api.error.constituent.disabled"))

// organisationOf returns the caller's organisation; a disabled one is
// refused.
func (h *handler) organisationOf(r *http.Request, c *caller) (constituency.Organisation, error) {
	if c.user.Role != auth.RoleConstituent || c.user.OrgID == 0 {
		return constituency.Organisation{}, errNoOrganisation
	}
	org, err := h.store.GetOrganisation(r.Context(), c.user.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return constituency.Organisation{}, errNoOrganisation
	}
	if err != nil {
		return constituency.Organisation{}, fmt.Errorf("organisation of user %d: %w", c.user.ID, err)
	}
	if org.Disabled {
		return constituency.Organisation{}, errOrganisationDisabled
	}
	return org, nil
}

func (h *handler) constituentEvents(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	s, err := parseEventSearchOf(r.URL.Query(), constituentEventParams)
	if err != nil {
		return nil, err
	}
	if bad := slices.IndexFunc(s.csv.Columns, func(c string) bool { return !store.ConstituentColumn(c) }); bad >= 0 {
		return nil, badParameterText("columns", i18n.M("api.error.columns.org", s.csv.Columns[bad]))
	}
	return h.eventResults(r, constituency.EventsOf(h.store, org), s, org.Handle+"-events")
}

func (h *handler) constituentEvent(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	hash, ok := event.ParseHash(strings.ToLower(r.PathValue("hash")))
	if !ok {
		return nil, badParameterText("hash", i18n.M("api.error.event.hash"))
	}
	e, err := constituency.EventsOf(h.store, org).GetEvent(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.event.notfound"))
	}
	if err != nil {
		return nil, fmt.Errorf("get event %s: %w", hash, err)
	}
	return toEventJSON(e), nil
}

// organisationJSON is a constituent's own record as the API shows it.
type organisationJSON struct {
	Handle   string         `json:"handle"`
	Name     string         `json:"name"`
	Sector   string         `json:"sector,omitempty"`
	Country  string         `json:"country,omitempty"`
	Language string         `json:"language"`
	Networks []netip.Prefix `json:"networks"`
	ASNs     []uint32       `json:"asns"`
	Domains  []string       `json:"domains"`
	Contacts []contactJSON  `json:"contacts"`
}

type contactJSON struct {
	Name   string `json:"name,omitempty"`
	Email  string `json:"email"`
	Phone  string `json:"phone,omitempty"`
	Role   string `json:"role"`
	Notify bool   `json:"notify"`
	HasKey bool   `json:"has_pgp_key"`
}

func (h *handler) constituentOrganisation(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	out := organisationJSON{Handle: org.Handle, Name: org.Name, Sector: org.Sector, Country: org.Country,
		Language: org.Language, Networks: nonNil(org.Networks), ASNs: nonNil(org.ASNs), Domains: nonNil(org.Domains),
		Contacts: []contactJSON{}}
	for _, ct := range org.Contacts {
		out.Contacts = append(out.Contacts, contactJSON{Name: ct.Name, Email: ct.Email, Phone: ct.Phone,
			Role: ct.Role, Notify: ct.Notify, HasKey: ct.PGPKey != ""})
	}
	return out, nil
}

// notificationJSON is one message of the notification log.
type notificationJSON struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`
	Subject    string     `json:"subject"`
	Recipients []string   `json:"recipients"`
	Events     int        `json:"events"`
	Encrypted  bool       `json:"encrypted"`
	Status     string     `json:"status"`
	Created    time.Time  `json:"created"`
	Sent       *time.Time `json:"sent,omitempty"`
}

type notificationPageJSON struct {
	Notifications []notificationJSON `json:"notifications"`
	// NextBefore is the before parameter of the following page; absent on
	// the last one.
	NextBefore int64 `json:"next_before,omitempty"`
}

func (h *handler) constituentNotifications(r *http.Request, c *caller) (any, error) {
	org, err := h.organisationOf(r, c)
	if err != nil {
		return nil, err
	}
	values := r.URL.Query()
	if err := checkParams(values, []string{"limit", "before"}); err != nil {
		return nil, err
	}
	limit, err := intParam(values, "limit", defaultPageSize, 1000)
	if err != nil {
		return nil, err
	}
	before, err := intParam(values, "before", 0, 1<<62)
	if err != nil {
		return nil, err
	}
	msgs, err := h.store.ListMessages(r.Context(), outbox.MessageQuery{OrgID: org.ID, Limit: int(limit) + 1, BeforeID: before})
	if err != nil {
		return nil, fmt.Errorf("list notifications of %s: %w", org.Handle, err)
	}
	out := notificationPageJSON{Notifications: []notificationJSON{}}
	if len(msgs) > int(limit) {
		msgs = msgs[:limit]
		out.NextBefore = msgs[len(msgs)-1].ID
	}
	for _, m := range msgs {
		out.Notifications = append(out.Notifications, notificationJSON{ID: m.ID, Kind: m.Kind, Subject: m.Subject,
			Recipients: nonNil(m.Recipients), Events: m.Events, Encrypted: m.Encrypted, Status: m.Status,
			Created: m.Created.UTC(), Sent: optionalTime(m.Sent)})
	}
	return out, nil
}

// intParam reads an optional integer parameter from 1 to most.
func intParam(values url.Values, name string, fallback, most int64) (int64, error) {
	v := values.Get(name)
	if v == "" {
		return fallback, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > most {
		return 0, badParameterText(name, i18n.M("api.error.param.int", name, most))
	}
	return n, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
