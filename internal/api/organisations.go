package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

// The team's organisations: list, read, create, replace and delete, with
// exactly the checks the console's form makes (constituency.CheckChange),
// audited as the console audits them.

var organisationListParams = []string{"q", "limit", "offset"}

const (
	defaultOrganisations = 100
	maxOrganisations     = 1000
)

// teamOrganisationJSON is an organisation as the team sees it: everything
// stored, contacts' keys included, so that a script can read, change and
// put it back.
type teamOrganisationJSON struct {
	ID       int64             `json:"id"`
	Handle   string            `json:"handle"`
	Name     string            `json:"name"`
	Sector   string            `json:"sector"`
	Country  string            `json:"country"`
	Language string            `json:"language"`
	Notes    string            `json:"notes"`
	Networks []netip.Prefix    `json:"networks"`
	ASNs     []uint32          `json:"asns"`
	Domains  []string          `json:"domains"`
	Contacts []teamContactJSON `json:"contacts"`
	Created  time.Time         `json:"created"`
	Updated  time.Time         `json:"updated"`
	// Disabled organisations are sent no notifications and their
	// accounts cannot sign in; only the disable and enable routes set it.
	Disabled bool `json:"disabled"`
	// Notes of a create or replace: what the checks found worth knowing
	// but allowed, such as a network inside another organisation's.
	CheckNotes []string `json:"check_notes,omitempty"`
}

type teamContactJSON struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Phone  string `json:"phone"`
	Role   string `json:"role"`
	Notify bool   `json:"notify"`
	PGPKey string `json:"pgp_key"`
}

func toTeamOrganisation(o constituency.Organisation) teamOrganisationJSON {
	out := teamOrganisationJSON{ID: o.ID, Handle: o.Handle, Name: o.Name, Sector: o.Sector, Country: o.Country,
		Language: o.Language, Notes: o.Notes, Networks: nonNil(o.Networks), ASNs: nonNil(o.ASNs),
		Domains: nonNil(o.Domains), Contacts: []teamContactJSON{}, Created: o.Created.UTC(), Updated: o.Updated.UTC(), Disabled: o.Disabled}
	for _, c := range o.Contacts {
		out.Contacts = append(out.Contacts, teamContactJSON{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone,
			Role: c.Role, Notify: c.Notify, PGPKey: c.PGPKey})
	}
	return out
}

type organisationListJSON struct {
	// Total is how many organisations match q, on every page.
	Total         int64                  `json:"total"`
	Organisations []teamOrganisationJSON `json:"organisations"`
}

func (h *handler) listOrganisations(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, organisationListParams); err != nil {
		return nil, err
	}
	limit, err := intParam(values, "limit", defaultOrganisations, maxOrganisations)
	if err != nil {
		return nil, err
	}
	offset := int64(0)
	if v := values.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 || offset > 1<<31 {
			return nil, badParameterText("offset", i18n.M("api.error.param.offset"))
		}
	}
	ctx := r.Context()
	q := constituency.OrganisationQuery{Text: values.Get("q")}
	total, err := h.store.CountOrganisations(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("count organisations: %w", err)
	}
	q.Limit, q.Offset = int(limit), int(offset)
	orgs, err := h.store.ListOrganisations(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	out := organisationListJSON{Total: total, Organisations: []teamOrganisationJSON{}}
	for _, o := range orgs {
		out.Organisations = append(out.Organisations, toTeamOrganisation(o))
	}
	return out, nil
}

// pathOrganisation loads the organisation of the {id} in the path.
func (h *handler) pathOrganisation(r *http.Request) (constituency.Organisation, error) {
	id, err := pathID(r)
	if err != nil {
		return constituency.Organisation{}, err
	}
	o, err := h.store.GetOrganisation(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return o, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.org.notfound"))
	}
	if err != nil {
		return o, fmt.Errorf("get organisation %d: %w", id, err)
	}
	return o, nil
}

// pathID reads the {id} of the path: a positive integer.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badParameterText("id", i18n.M("api.error.param.id", "id"))
	}
	return id, nil
}

func (h *handler) getOrganisation(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	o, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	return toTeamOrganisation(o), nil
}

// organisationInput is the body of a create or a replace.
type organisationInput struct {
	// Handle is required to create; on a replace it may be left out, and
	// must otherwise be the organisation's, which never changes.
	Handle   string             `json:"handle"`
	Name     string             `json:"name"`
	Sector   string             `json:"sector"`
	Country  string             `json:"country"`
	Language string             `json:"language"`
	Notes    string             `json:"notes"`
	Networks []string           `json:"networks"`
	ASNs     []asnValue         `json:"asns"`
	Domains  []string           `json:"domains"`
	Contacts []teamContactInput `json:"contacts"`
}

type teamContactInput struct {
	// ID keeps a stored contact's id; absent or 0 for a new contact.
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Phone  string `json:"phone"`
	Role   string `json:"role"`
	Notify bool   `json:"notify"`
	PGPKey string `json:"pgp_key"`
}

// asnValue is an AS number as a script writes it: 64496, "64496" or
// "AS64496", as the console's form accepts.
type asnValue string

func (a *asnValue) UnmarshalJSON(b []byte) error {
	var s string
	if bytes.HasPrefix(b, []byte(`"`)) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return badParameterText("asns", i18n.M("api.error.org.asn"))
		}
		s = n.String()
	}
	*a = asnValue(s)
	return nil
}

// organisationOfInput turns the body into an organisation, with the
// problems of the values that do not even parse.
func organisationOfInput(in organisationInput) (constituency.Organisation, []problemJSON) {
	o := constituency.Organisation{Handle: in.Handle, Name: in.Name, Sector: in.Sector, Country: in.Country,
		Language: in.Language, Notes: in.Notes, Domains: in.Domains}
	var problems []problemJSON
	for _, s := range in.Networks {
		n, err := constituency.ParseNetwork(s)
		if err != nil {
			problems = append(problems, fieldProblem(err, constituency.FieldNetworks, s))
			continue
		}
		o.Networks = append(o.Networks, n)
	}
	for _, s := range in.ASNs {
		a, err := constituency.ParseASN(string(s))
		if err != nil {
			problems = append(problems, fieldProblem(err, constituency.FieldASNs, string(s)))
			continue
		}
		o.ASNs = append(o.ASNs, a)
	}
	for _, c := range in.Contacts {
		o.Contacts = append(o.Contacts, constituency.Contact{ID: max(c.ID, 0), Name: c.Name, Email: c.Email, Phone: c.Phone,
			Role: c.Role, Notify: c.Notify, PGPKey: c.PGPKey})
	}
	return o, problems
}

func fieldProblem(err error, field, value string) problemJSON {
	var fe *constituency.FieldError
	if errors.As(err, &fe) {
		return problemJSON{Field: fe.Field, Contact: fe.Contact, Value: fe.Value, Reason: fe.Reason, text: fe.Message}
	}
	return problemJSON{Field: field, Value: value, Reason: err.Error()}
}

// checkOrganisation runs the console's checks on o against the stored
// constituency without selfID (0 for a new organisation). It returns the
// notes to pass on, or an *Error listing every problem.
func (h *handler) checkOrganisation(ctx context.Context, o *constituency.Organisation, parsed []problemJSON, selfID int64) ([]string, error) {
	verdict, err := constituency.CheckChangeIn(ctx, h.store, o, selfID)
	if err != nil {
		return nil, err
	}
	problems := parsed
	for _, fe := range verdict.Invalid {
		field := fe.Field
		if fe.Contact > 0 {
			// contact_email in a file's columns is email in a contact
			// of the body.
			field = strings.TrimPrefix(field, "contact_")
		}
		problems = append(problems, problemJSON{Field: field, Contact: fe.Contact, Value: fe.Value, Reason: fe.Reason, text: fe.Message})
	}
	for _, t := range verdict.Taken {
		reason := i18n.M("api.error.org.taken.owner", t.Owner, t.OwnerHandle)
		if t.Field == constituency.FieldHandle {
			reason = i18n.M("api.error.org.taken.handle", t.Owner)
		}
		problems = append(problems, problemJSON{Field: t.Field, Value: t.Value, Reason: reason.String(), text: reason})
	}
	var notes []string
	for _, pr := range verdict.Problems {
		if pr.Severity == constituency.SeverityNote {
			notes = append(notes, pr.String())
			continue
		}
		problems = append(problems, problemJSON{Field: pr.Field, Value: pr.Value, Reason: pr.Reason, text: pr.Message})
	}
	if len(problems) > 0 {
		return nil, invalidOrganisation(problems)
	}
	return notes, nil
}

func invalidOrganisation(problems []problemJSON) *Error {
	e := errorText(http.StatusBadRequest, "invalid_organisation", "", i18n.M("api.error.org.invalid"))
	e.Problems = problems
	return e
}

func (h *handler) createOrganisation(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	var in organisationInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	o, parsed := organisationOfInput(in)
	notes, err := h.checkOrganisation(ctx, &o, parsed, 0)
	if err != nil {
		return nil, err
	}
	err = h.store.CreateOrganisation(ctx, &o)
	var retired *constituency.RetiredHandleError
	switch {
	case errors.As(err, &retired):
		m := i18n.M("org.error.handle.retired", o.Handle)
		return nil, invalidOrganisation([]problemJSON{{Field: constituency.FieldHandle, Value: o.Handle, Reason: m.String(), text: m}})
	case errors.Is(err, store.ErrConflict):
		// Taken between the check and the insert.
		m := i18n.M("org.error.handle.taken", o.Handle)
		return nil, invalidOrganisation([]problemJSON{{Field: constituency.FieldHandle, Value: o.Handle, Reason: m.String(), text: m}})
	case err != nil:
		return nil, fmt.Errorf("create organisation: %w", err)
	}
	h.audit(ctx, c, "organisation.create", o.Handle, constituency.Summary(o))
	h.constituencyChangedNow(ctx)
	out := toTeamOrganisation(o)
	out.CheckNotes = notes
	return created{location: "/api/v1/organisations/" + strconv.FormatInt(o.ID, 10), value: out}, nil
}

func (h *handler) updateOrganisation(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	current, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	var in organisationInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Handle != "" && strings.ToLower(strings.TrimSpace(in.Handle)) != current.Handle {
		return nil, badParameterText("handle", i18n.M("api.error.org.handle"))
	}
	in.Handle = current.Handle
	ctx := r.Context()
	o, parsed := organisationOfInput(in)
	notes, err := h.checkOrganisation(ctx, &o, parsed, current.ID)
	if err != nil {
		return nil, err
	}
	o.ID = current.ID
	constituency.KeepContactIDs(current.Contacts, o.Contacts, true)
	if err := h.store.UpdateOrganisation(ctx, &o); errors.Is(err, store.ErrNotFound) {
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.org.notfound"))
	} else if err != nil {
		return nil, fmt.Errorf("update organisation %s: %w", o.Handle, err)
	}
	h.audit(ctx, c, "organisation.update", o.Handle, constituency.Summary(o))
	h.constituencyChangedNow(ctx)
	o.Created = current.Created
	out := toTeamOrganisation(o)
	out.CheckNotes = notes
	return out, nil
}

func (h *handler) deleteOrganisation(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	o, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	err = h.store.DeleteOrganisation(ctx, o.ID)
	switch {
	case errors.Is(err, incident.ErrOrganisationHasIncidents):
		return nil, errorText(http.StatusConflict, "organisation_has_incidents", "", i18n.M("api.error.organisation.incidents"))
	case errors.Is(err, store.ErrConflict):
		return nil, errorText(http.StatusConflict, "organisation_has_users", "", i18n.M("api.error.org.users"))
	case errors.Is(err, store.ErrNotFound):
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.org.notfound"))
	case err != nil:
		return nil, fmt.Errorf("delete organisation %s: %w", o.Handle, err)
	}
	h.audit(ctx, c, "organisation.delete", o.Handle, o.Name)
	h.constituencyChangedNow(ctx)
	return noContent{}, nil
}

// audit records a write as the console does, saying it came through the
// API and with which token. Context.WithoutCancel keeps a caller hanging
// up from erasing the trace of what it did; a failure is logged, since
// the change is made.
func (h *handler) audit(ctx context.Context, c *caller, action, target, detail string) {
	via := fmt.Sprintf("API token %d", c.token.ID)
	if detail == "" {
		detail = via
	} else {
		detail += " (" + via + ")"
	}
	e := auth.AuditEntry{UserID: c.user.ID, Actor: c.user.Name, Action: action, Target: target, Detail: detail}
	if err := auth.Record(context.WithoutCancel(ctx), h.store, e); err != nil {
		h.log.Error("audit", "action", action, "err", err)
	}
}
