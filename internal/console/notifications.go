package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// The team's notification pages: the log of what was sent to whom, the
// notification policies (the team default and each organisation's own),
// and the message templates with a preview.

// Notifier is what the console uses of notify.Notifier (notify.Editor).
type Notifier = notify.Editor

// policySummary is a policy as the organisation page shows it.
type policySummary struct {
	// Own is set when the organisation has its own policy; otherwise it
	// follows the team default.
	Own        bool
	Enabled    bool
	Taxonomies []string // empty: all
	Types      []string // empty: all
	Feeds      []string // empty: all
	Immediate  []string
	Digest     string
	Format     string
	Language   string
}

// policySummaryOf is the policy the notifier applies to o.
func (c *Console) policySummaryOf(ctx context.Context, o constituency.Organisation) (policySummary, error) {
	e, own, err := notify.PolicyOf(ctx, c.store, o)
	if err != nil {
		return policySummary{}, err
	}
	return policySummary{
		Own: own != nil, Enabled: e.Enabled, Taxonomies: e.Taxonomies, Types: e.Types, Feeds: e.Feeds,
		Immediate: e.Immediate, Digest: e.Digest, Format: e.Format, Language: e.Language,
	}, nil
}

// option is one choice of a select or a group of checkboxes.
type option struct {
	Value    string
	Selected bool
}

func options(values, selected []string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Selected: slices.Contains(selected, v)}
	}
	return out
}

// policyPage is the data of the policy form, for an organisation or for
// the team default (Org zero).
type policyPage struct {
	Org     constituency.Organisation
	Action  string
	BackURL string
	// Own is set when the policy shown is stored for this organisation
	// (for the team: when the team set one), so that it can be dropped.
	Own        bool
	Enabled    bool
	Taxonomies []option
	Types      []option
	Immediate  []option
	Feeds      string
	Digest     string
	Format     string
	Language   string
	Digests    []string
	Formats    []string
	Languages  []string
	// Problems are notify.ValidatePolicy's reasons by field.
	Problems map[string][]string
}

func newPolicyPage(p notify.Policy) policyPage {
	return policyPage{
		Enabled:    p.Enabled,
		Taxonomies: options(taxonomy.Names(), p.Taxonomies),
		Types:      options(taxonomy.Types(), p.Types),
		Immediate:  options(taxonomy.Types(), p.Immediate),
		Feeds:      strings.Join(p.Feeds, "\n"),
		Digest:     p.Digest,
		Format:     p.Format,
		Language:   p.Language,
		Digests:    []string{notify.DigestDaily, notify.DigestHourly, notify.DigestOff},
		Formats:    []string{notify.FormatSummary, notify.FormatJSON, notify.FormatXARF},
		Languages:  notify.Languages,
		Problems:   map[string][]string{},
	}
}

func (c *Console) organisationPolicyForm(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	own := true
	pol, err := c.store.GetNotificationPolicy(ctx, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		// A new policy of its own starts from what applies now.
		own = false
		pol, _, err = notify.TeamPolicy(ctx, c.store)
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := newPolicyPage(pol)
	p.Org, p.Own = o, own
	p.Action = "/constituency/" + strconv.FormatInt(o.ID, 10) + "/policy"
	p.BackURL = "/constituency/" + strconv.FormatInt(o.ID, 10)
	c.render(w, r, v, http.StatusOK, "policy", msgTitlePolicy, p, "", "")
}

func (c *Console) saveOrganisationPolicy(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	back := "/constituency/" + strconv.FormatInt(o.ID, 10)
	c.savePolicy(w, r, v, o, back+"/policy", back)
}

func (c *Console) defaultPolicyForm(w http.ResponseWriter, r *http.Request, v *visit) {
	pol, own, err := notify.TeamPolicy(r.Context(), c.store)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := newPolicyPage(pol)
	p.Own = own
	p.Action, p.BackURL = "/notifications/policy", "/notifications/settings"
	c.render(w, r, v, http.StatusOK, "policy", msgTitleDefaultPolicy, p, "", "")
}

func (c *Console) saveDefaultPolicy(w http.ResponseWriter, r *http.Request, v *visit) {
	c.savePolicy(w, r, v, constituency.Organisation{}, "/notifications/policy", "/notifications/settings")
}

// savePolicy stores the posted policy of o (the team default when o is
// zero), or with action=default drops it: the organisation then follows
// the team default, and the team default notify's built-in one.
func (c *Console) savePolicy(w http.ResponseWriter, r *http.Request, v *visit, o constituency.Organisation, action, back string) {
	ctx := r.Context()
	target, title := o.Handle, msgTitlePolicy
	if o.ID == 0 {
		target, title = "team default", msgTitleDefaultPolicy
	}
	if r.PostFormValue("action") == "default" {
		if err := c.store.DeleteNotificationPolicy(ctx, o.ID); err != nil {
			c.fail(w, r, v, err)
			return
		}
		c.audit(ctx, v, "policy.delete", target, "")
		redirectDone(w, r, back, "policy-default")
		return
	}
	pol := notify.Policy{
		OrgID:      o.ID,
		Enabled:    r.PostFormValue("enabled") == "on",
		Taxonomies: nonEmpty(r.PostForm["taxonomies"]),
		Types:      nonEmpty(r.PostForm["types"]),
		Immediate:  nonEmpty(r.PostForm["immediate"]),
		Feeds:      listItems(r.PostFormValue("feeds")),
		Digest:     r.PostFormValue("digest"),
		Format:     r.PostFormValue("format"),
		Language:   r.PostFormValue("language"),
	}
	if err := notify.ValidatePolicy(pol); err != nil {
		p := newPolicyPage(pol)
		p.Org, p.Action, p.BackURL = o, action, back
		switch _, err := c.store.GetNotificationPolicy(ctx, o.ID); {
		case err == nil:
			p.Own = true
		case !errors.Is(err, store.ErrNotFound):
			c.fail(w, r, v, err)
			return
		}
		fes, err := notify.PolicyProblems(err)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		for _, fe := range fes {
			p.Problems[fe.Field] = append(p.Problems[fe.Field], fe.Message.In(c.catalog, v.lang))
		}
		c.render(w, r, v, http.StatusBadRequest, "policy", title, p, "", msgPolicyInvalid)
		return
	}
	if err := c.store.PutNotificationPolicy(ctx, pol); errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	} else if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "policy.update", target, notify.PolicyDetail(pol))
	redirectDone(w, r, back, "policy")
}

func nonEmpty(values []string) []string {
	var out []string
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// notificationStatuses are the statuses the log filters by.
var notificationStatuses = []string{outbox.MessageQueued, outbox.MessageSent, outbox.MessageFailed}

// notificationLogPage is the data of the team's notification log.
type notificationLogPage struct {
	OrgID         int64
	Status        string
	Organisations []constituency.Organisation
	Statuses      []string
	Messages      []outbox.Message
	// Names maps organisation IDs to names for the table.
	Names    map[int64]string
	FirstURL string
	NextURL  string
	Paged    bool
}

func (c *Console) notificationLog(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	values := r.URL.Query()
	p := notificationLogPage{Statuses: notificationStatuses, Names: map[int64]string{}}
	p.OrgID, _ = strconv.ParseInt(values.Get("org"), 10, 64)
	if s := values.Get("status"); slices.Contains(notificationStatuses, s) {
		p.Status = s
	}
	before, _ := strconv.ParseInt(values.Get("before"), 10, 64)
	orgs, err := c.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Organisations = orgs
	for _, o := range orgs {
		p.Names[o.ID] = o.Name
	}
	msgs, err := c.store.ListMessages(ctx, outbox.MessageQuery{OrgID: max(p.OrgID, 0), Status: p.Status, BeforeID: max(before, 0), Limit: messagesPerPage + 1})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	filter := url.Values{}
	if p.OrgID > 0 {
		filter.Set("org", strconv.FormatInt(p.OrgID, 10))
	}
	if p.Status != "" {
		filter.Set("status", p.Status)
	}
	p.Paged, p.FirstURL = before > 0, "/notifications?"+filter.Encode()
	if len(msgs) > messagesPerPage {
		msgs = msgs[:messagesPerPage]
		filter.Set("before", strconv.FormatInt(msgs[len(msgs)-1].ID, 10))
		p.NextURL = "/notifications?" + filter.Encode()
	}
	p.Messages = msgs
	c.render(w, r, v, http.StatusOK, "notifications", msgTitleNotifications, p, "", "")
}

// eventNotifications lists the notifications that reported an event, for
// the team's event page.
func (c *Console) eventNotifications(ctx context.Context, h event.Hash) ([]outbox.Message, error) {
	msgs, err := c.store.ListMessages(ctx, outbox.MessageQuery{EventHash: h, Limit: messagesPerPage})
	if err != nil {
		return nil, fmt.Errorf("notifications of event: %w", err)
	}
	return msgs, nil
}

// settingsPage is the data of the notification settings: the team default
// policy and the template overview.
type settingsPage struct {
	Policy    policySummary
	PolicySet bool // the team chose a default; else notify's built-in one applies
	// CanManageKey links the team key page, for those who may see it.
	CanManageKey bool
	Languages    []string
	Templates    []templateRow
}

// templateRow is one template name in every language.
type templateRow struct {
	Name  string
	Cells []templateCell
}

type templateCell struct {
	Language   string
	URL        string
	Overridden bool
}

func (c *Console) notificationSettings(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	def, set, err := notify.TeamPolicy(ctx, c.store)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	overrides, err := c.store.ListNotificationTemplates(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	overridden := map[string]bool{}
	for _, t := range overrides {
		overridden[t.Language+"/"+t.Name] = true
	}
	// A stored policy may leave digest and format blank, which means the
	// defaults'; the summary says which.
	builtin := notify.DefaultPolicy()
	def.Digest = cmp.Or(def.Digest, builtin.Digest)
	def.Format = cmp.Or(def.Format, builtin.Format)
	p := settingsPage{
		PolicySet: set, Languages: notify.Languages, CanManageKey: v.can(auth.ManageTeamKey),
		Policy: policySummary{
			Own: set, Enabled: def.Enabled, Taxonomies: def.Taxonomies, Types: def.Types, Feeds: def.Feeds,
			Immediate: def.Immediate, Digest: def.Digest, Format: def.Format, Language: def.Language,
		},
	}
	for _, name := range notify.BuiltinNames() {
		row := templateRow{Name: name}
		for _, lang := range notify.Languages {
			row.Cells = append(row.Cells, templateCell{
				Language: lang, URL: templateURL(lang, name), Overridden: overridden[lang+"/"+name],
			})
		}
		p.Templates = append(p.Templates, row)
	}
	c.render(w, r, v, http.StatusOK, "notification_settings", msgTitleNotificationSettings, p, flashOf(r), "")
}

func templateURL(lang, name string) string {
	return "/notifications/templates/" + url.PathEscape(lang) + "/" + name
}

// templatePage is the data of the template editor.
type templatePage struct {
	Language   string
	Name       string
	URL        string
	Subject    string
	Body       string
	HasSubject bool // type explanations have no subject
	Overridden bool
	Builtin    notify.TemplateSource
	UpdatedBy  string
	// Preview is the rendering of what the editor holds; PreviewError
	// why it could not be made (translated, with the template's line).
	Preview      *notify.Preview
	PreviewError string

	edited notify.EditedTemplate
}

// editedTemplate reads lang and name from the path; it answers the request
// (not found) itself when it returns false.
func (c *Console) editedTemplate(w http.ResponseWriter, r *http.Request, v *visit) (templatePage, bool) {
	lang, name := r.PathValue("lang"), r.PathValue("name")
	t, err := notify.OpenTemplate(r.Context(), c.store, lang, name)
	if errors.Is(err, notify.ErrNoSuchTemplate) {
		c.notFound(w, r, v)
		return templatePage{}, false
	} else if err != nil {
		c.fail(w, r, v, err)
		return templatePage{}, false
	}
	p := templatePage{
		Language: lang, Name: name, URL: templateURL(lang, name), Builtin: t.Builtin, edited: t,
		Subject: t.Current.Subject, Body: t.Current.Body, HasSubject: t.HasSubject, Overridden: t.Overridden,
	}
	if t.Overridden {
		p.UpdatedBy = t.Current.UpdatedBy
	}
	return p, true
}

func (c *Console) templateEditor(w http.ResponseWriter, r *http.Request, v *visit) {
	p, ok := c.editedTemplate(w, r, v)
	if !ok {
		return
	}
	pv, err := c.notifier.Preview(r.Context(), p.Language, p.Name, notify.SampleOrganisation(), notify.SampleEvents())
	if !c.setPreview(w, r, v, &p, pv, err) {
		return
	}
	c.render(w, r, v, http.StatusOK, "notification_template", msgTitleNotificationTemplate, p, flashOf(r), "")
}

// setPreview puts a preview, or the template error that prevented it, on
// the page; other errors are failures, answered here (false).
func (c *Console) setPreview(w http.ResponseWriter, r *http.Request, v *visit, p *templatePage, pv notify.Preview, err error) bool {
	var te *notify.TemplateError
	switch {
	case err == nil:
		p.Preview = &pv
	case errors.As(err, &te):
		p.PreviewError = c.templateErrorText(v, te)
	default:
		c.fail(w, r, v, err)
		return false
	}
	return true
}

// templateErrorText says where a template broke: the part, the line and
// text/template's own words, which are about what the person wrote.
func (c *Console) templateErrorText(v *visit, te *notify.TemplateError) string {
	part := c.tr(v, msgTemplatePartBody)
	if te.Part == "subject" {
		part = c.tr(v, msgTemplatePartSubject)
	}
	detail := ""
	if te.Err != nil {
		detail = te.Err.Error()
	}
	if te.Line > 0 {
		return c.tr(v, msgTemplateErrorLine, part, te.Line, detail)
	}
	return c.tr(v, msgTemplateError, part, detail)
}

// changeTemplate previews, saves or reverts the template: action preview
// renders the draft without storing it, save stores it if it parses and
// runs on the sample data, revert deletes the team's override.
func (c *Console) changeTemplate(w http.ResponseWriter, r *http.Request, v *visit) {
	p, ok := c.editedTemplate(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	action := r.PostFormValue("action")
	if action == "revert" {
		if err := c.store.DeleteNotificationTemplate(ctx, p.Language, p.Name); err != nil {
			c.fail(w, r, v, err)
			return
		}
		c.audit(ctx, v, "template.revert", p.Language+"/"+p.Name, "")
		redirectDone(w, r, p.URL, "template-reverted")
		return
	}
	draft := p.edited.Draft(r.PostFormValue("subject"), r.PostFormValue("body"), v.user.Name)
	p.Subject, p.Body = draft.Subject, draft.Body
	if len(draft.Subject)+len(draft.Body) > notify.MaxTemplateBytes {
		c.render(w, r, v, http.StatusBadRequest, "notification_template", msgTitleNotificationTemplate, p, "", msgTemplateTooLarge)
		return
	}
	switch action {
	case "preview":
		pv, err := c.notifier.PreviewDraft(ctx, draft, notify.SampleOrganisation(), notify.SampleEvents())
		if !c.setPreview(w, r, v, &p, pv, err) {
			return
		}
		status := http.StatusOK
		if p.PreviewError != "" {
			status = http.StatusBadRequest
		}
		c.render(w, r, v, status, "notification_template", msgTitleNotificationTemplate, p, "", "")
	case "save":
		err := c.notifier.SaveTemplate(ctx, draft)
		var te *notify.TemplateError
		if errors.As(err, &te) {
			p.PreviewError = c.templateErrorText(v, te)
			c.render(w, r, v, http.StatusBadRequest, "notification_template", msgTitleNotificationTemplate, p, "", msgTemplateRefused)
			return
		}
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		c.audit(ctx, v, "template.save", p.Language+"/"+p.Name, fmt.Sprintf("%d bytes", len(draft.Subject)+len(draft.Body)))
		redirectDone(w, r, p.URL, "template")
	default:
		c.problem(w, r, v, http.StatusBadRequest, msgErrorHeading, msgErrorInternal)
	}
}
