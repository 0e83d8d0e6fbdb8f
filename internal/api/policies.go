package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store"
)

// Notification policies: the team default and each organisation's own,
// read, replaced and dropped as on the console's policy pages, checked by
// notify.ValidatePolicy and audited with the console's actions.

// policyJSON is a notification policy. Empty lists select everything;
// blank digest and format take the built-in defaults, a blank language the
// organisation's.
type policyJSON struct {
	Enabled    bool       `json:"enabled"`
	Taxonomies []string   `json:"taxonomies"`
	Types      []string   `json:"types"`
	Feeds      []string   `json:"feeds"`
	Immediate  []string   `json:"immediate"`
	Digest     string     `json:"digest"`
	Format     string     `json:"format"`
	Language   string     `json:"language"`
	Updated    *time.Time `json:"updated,omitempty"`
}

func toPolicyJSON(p notify.Policy) policyJSON {
	return policyJSON{Enabled: p.Enabled, Taxonomies: nonNil(p.Taxonomies), Types: nonNil(p.Types), Feeds: nonNil(p.Feeds),
		Immediate: nonNil(p.Immediate), Digest: p.Digest, Format: p.Format, Language: p.Language, Updated: optionalTime(p.Updated)}
}

// teamPolicyJSON is the team default: Set is false while the team chose
// none and notify's built-in default applies.
type teamPolicyJSON struct {
	Set    bool       `json:"set"`
	Policy policyJSON `json:"policy"`
}

// organisationPolicyJSON is what applies to one organisation: its own
// policy (absent when it follows the team default) and the effective one
// the notifier uses.
type organisationPolicyJSON struct {
	OrganisationID int64       `json:"organisation_id"`
	Own            *policyJSON `json:"own"`
	Effective      policyJSON  `json:"effective"`
}

// policyInput is the body of a replace. Enabled must be given: a policy
// that silently became disabled would stop every notification.
type policyInput struct {
	Enabled    *bool    `json:"enabled"`
	Taxonomies []string `json:"taxonomies"`
	Types      []string `json:"types"`
	Feeds      []string `json:"feeds"`
	Immediate  []string `json:"immediate"`
	Digest     string   `json:"digest"`
	Format     string   `json:"format"`
	Language   string   `json:"language"`
}

func (h *handler) getTeamPolicy(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	p, set, err := notify.TeamPolicy(r.Context(), h.store)
	if err != nil {
		return nil, err
	}
	return teamPolicyJSON{Set: set, Policy: toPolicyJSON(p)}, nil
}

func (h *handler) putTeamPolicy(r *http.Request, c *caller) (any, error) {
	if _, err := h.savePolicy(r, c, constituency.Organisation{}); err != nil {
		return nil, err
	}
	return h.getTeamPolicy(r, c)
}

func (h *handler) deleteTeamPolicy(r *http.Request, c *caller) (any, error) {
	return h.dropPolicy(r, c, constituency.Organisation{})
}

func (h *handler) getOrganisationPolicy(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	o, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	return h.organisationPolicy(r, o)
}

func (h *handler) organisationPolicy(r *http.Request, o constituency.Organisation) (organisationPolicyJSON, error) {
	e, own, err := notify.PolicyOf(r.Context(), h.store, o)
	if err != nil {
		return organisationPolicyJSON{}, err
	}
	out := organisationPolicyJSON{OrganisationID: o.ID, Effective: toPolicyJSON(e)}
	out.Effective.Updated = nil
	if own != nil {
		p := toPolicyJSON(*own)
		out.Own = &p
	}
	return out, nil
}

func (h *handler) putOrganisationPolicy(r *http.Request, c *caller) (any, error) {
	o, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	if _, err := h.savePolicy(r, c, o); err != nil {
		return nil, err
	}
	return h.organisationPolicy(r, o)
}

func (h *handler) deleteOrganisationPolicy(r *http.Request, c *caller) (any, error) {
	o, err := h.pathOrganisation(r)
	if err != nil {
		return nil, err
	}
	return h.dropPolicy(r, c, o)
}

// policyTarget names a policy in the audit log as the console does.
func policyTarget(o constituency.Organisation) string {
	if o.ID == 0 {
		return "team default"
	}
	return o.Handle
}

// savePolicy stores the body as o's policy (the team default for the
// zero organisation) when notify.ValidatePolicy accepts it.
func (h *handler) savePolicy(r *http.Request, c *caller, o constituency.Organisation) (notify.Policy, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return notify.Policy{}, err
	}
	var in policyInput
	if err := decodeBody(r, &in); err != nil {
		return notify.Policy{}, err
	}
	if in.Enabled == nil {
		return notify.Policy{}, badParameterText("enabled", i18n.M("api.error.policy.enabled"))
	}
	pol := notify.Policy{OrgID: o.ID, Enabled: *in.Enabled, Taxonomies: trimmed(in.Taxonomies), Types: trimmed(in.Types),
		Feeds: trimmed(in.Feeds), Immediate: trimmed(in.Immediate), Digest: strings.TrimSpace(in.Digest),
		Format: strings.TrimSpace(in.Format), Language: strings.TrimSpace(in.Language)}
	if err := notify.ValidatePolicy(pol); err != nil {
		fes, err := notify.PolicyProblems(err)
		if err != nil {
			return notify.Policy{}, fmt.Errorf("validate policy: %w", err)
		}
		var problems []problemJSON
		for _, fe := range fes {
			problems = append(problems, problemJSON{Field: fe.Field, Reason: fe.Message.String(), text: fe.Message})
		}
		e := errorText(http.StatusBadRequest, "invalid_policy", "", i18n.M("api.error.policy.invalid"))
		e.Problems = problems
		return notify.Policy{}, e
	}
	ctx := r.Context()
	if err := h.store.PutNotificationPolicy(ctx, pol); errors.Is(err, store.ErrNotFound) {
		return notify.Policy{}, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.organisation.notfound"))
	} else if err != nil {
		return notify.Policy{}, fmt.Errorf("save policy of %s: %w", policyTarget(o), err)
	}
	h.audit(ctx, c, "policy.update", policyTarget(o), notify.PolicyDetail(pol))
	return pol, nil
}

// dropPolicy deletes o's own policy: it then follows the team default,
// and the team default notify's built-in one.
func (h *handler) dropPolicy(r *http.Request, c *caller, o constituency.Organisation) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	ctx := r.Context()
	if err := h.store.DeleteNotificationPolicy(ctx, o.ID); err != nil {
		return nil, fmt.Errorf("delete policy of %s: %w", policyTarget(o), err)
	}
	h.audit(ctx, c, "policy.delete", policyTarget(o), "")
	return noContent{}, nil
}

// trimmed drops blank entries and the spaces around the others.
func trimmed(values []string) []string {
	var out []string
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
