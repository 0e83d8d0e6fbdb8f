package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
)

// Notification templates: the list with what the team overrode, one
// template with its built-in text, saving and reverting an override, and
// a preview on sample data, as the console's template editor does. A
// template's name is digest, immediate or type/<classification.type>; in
// a path its slash is written %2F (type%2Fphishing).

// Notifier is what the API uses of notify.Notifier (notify.Editor).
type Notifier = notify.Editor

// errNoNotifier answers the routes that need the notifier in a process
// built without one.
var errNoNotifier = errorText(http.StatusNotImplemented, "not_implemented", "", i18n.M("api.error.notifier"))

type templateSummaryJSON struct {
	Language   string     `json:"language"`
	Name       string     `json:"name"`
	Overridden bool       `json:"overridden"`
	Updated    *time.Time `json:"updated,omitempty"`
	UpdatedBy  string     `json:"updated_by,omitempty"`
}

type templateJSON struct {
	templateSummaryJSON
	HasSubject     bool   `json:"has_subject"`
	Subject        string `json:"subject"`
	Body           string `json:"body"`
	BuiltinSubject string `json:"builtin_subject"`
	BuiltinBody    string `json:"builtin_body"`
}

// templateInput is the body of a save or a preview.
type templateInput struct {
	Subject string  `json:"subject"`
	Body    *string `json:"body"`
}

type previewJSON struct {
	Subject     string               `json:"subject"`
	Text        string               `json:"text"`
	Parts       int                  `json:"parts"`
	Attachments []attachmentJSON     `json:"attachments"`
	Problem     *templateProblemJSON `json:"problem,omitempty"`
}

type attachmentJSON struct {
	Name    string `json:"name"`
	Events  int    `json:"events"`
	Gzipped bool   `json:"gzipped"`
}

// templateProblemJSON says where a template broke.
type templateProblemJSON struct {
	Part   string `json:"part"`
	Line   int    `json:"line,omitempty"`
	Detail string `json:"detail"`
}

func (h *handler) listTemplates(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	overrides, err := h.store.ListNotificationTemplates(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	byKey := map[string]notify.TemplateSource{}
	for _, t := range overrides {
		byKey[t.Language+"/"+t.Name] = t
	}
	out := struct {
		Templates []templateSummaryJSON `json:"templates"`
	}{Templates: []templateSummaryJSON{}}
	add := func(lang, name string) {
		s := templateSummaryJSON{Language: lang, Name: name}
		if t, ok := byKey[lang+"/"+name]; ok {
			s.Overridden, s.Updated, s.UpdatedBy = true, optionalTime(t.Updated), t.UpdatedBy
			delete(byKey, lang+"/"+name)
		}
		out.Templates = append(out.Templates, s)
	}
	for _, name := range notify.BuiltinNames() {
		for _, lang := range notify.Languages {
			add(lang, name)
		}
	}
	// Explanations the team wrote for types without a built-in one.
	for _, t := range overrides {
		if _, ok := byKey[t.Language+"/"+t.Name]; ok {
			add(t.Language, t.Name)
		}
	}
	return out, nil
}

// pathTemplate opens the template of the path's {language} and {name}.
func (h *handler) pathTemplate(r *http.Request) (notify.EditedTemplate, error) {
	t, err := notify.OpenTemplate(r.Context(), h.store, r.PathValue("language"), r.PathValue("name"))
	if errors.Is(err, notify.ErrNoSuchTemplate) {
		return t, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.template.notfound"))
	}
	return t, err
}

func toTemplateJSON(t notify.EditedTemplate) templateJSON {
	out := templateJSON{
		templateSummaryJSON: templateSummaryJSON{Language: t.Builtin.Language, Name: t.Builtin.Name, Overridden: t.Overridden},
		HasSubject:          t.HasSubject, Subject: t.Current.Subject, Body: t.Current.Body,
		BuiltinSubject: t.Builtin.Subject, BuiltinBody: t.Builtin.Body,
	}
	if t.Overridden {
		out.Updated, out.UpdatedBy = optionalTime(t.Current.Updated), t.Current.UpdatedBy
	}
	return out
}

func (h *handler) getTemplate(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	t, err := h.pathTemplate(r)
	if err != nil {
		return nil, err
	}
	return toTemplateJSON(t), nil
}

// draftOf reads the body of a save or a preview into a draft of t.
func draftOf(r *http.Request, t notify.EditedTemplate, by string) (notify.TemplateSource, error) {
	var in templateInput
	if err := decodeBody(r, &in); err != nil {
		return notify.TemplateSource{}, err
	}
	if in.Body == nil {
		return notify.TemplateSource{}, badParameterText("body", i18n.M("api.error.template.body"))
	}
	d := t.Draft(in.Subject, *in.Body, by)
	if len(d.Subject)+len(d.Body) > notify.MaxTemplateBytes {
		return d, badParameterText("body", i18n.M("api.error.template.large", notify.MaxTemplateBytes))
	}
	return d, nil
}

// templateProblem is the part, line and text/template's own words of a
// template that would not parse or run: about what the person wrote.
func templateProblem(te *notify.TemplateError) *templateProblemJSON {
	p := &templateProblemJSON{Part: "body", Line: te.Line}
	if te.Part == "subject" {
		p.Part = "subject"
	}
	if te.Err != nil {
		p.Detail = te.Err.Error()
	}
	return p
}

func (h *handler) putTemplate(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	if h.notifier == nil {
		return nil, errNoNotifier
	}
	t, err := h.pathTemplate(r)
	if err != nil {
		return nil, err
	}
	draft, err := draftOf(r, t, c.user.Name)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	err = h.notifier.SaveTemplate(ctx, draft)
	var te *notify.TemplateError
	if errors.As(err, &te) {
		p := templateProblem(te)
		return nil, errorText(http.StatusBadRequest, "invalid_template", p.Part, i18n.M("api.error.template.invalid", p.Part, p.Line, p.Detail))
	}
	if err != nil {
		return nil, err
	}
	h.audit(ctx, c, "template.save", draft.Language+"/"+draft.Name, fmt.Sprintf("%d bytes", len(draft.Subject)+len(draft.Body)))
	if t, err = h.pathTemplate(r); err != nil {
		return nil, err
	}
	return toTemplateJSON(t), nil
}

func (h *handler) deleteTemplate(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	t, err := h.pathTemplate(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	if err := h.store.DeleteNotificationTemplate(ctx, t.Builtin.Language, t.Builtin.Name); err != nil {
		return nil, fmt.Errorf("revert template: %w", err)
	}
	h.audit(ctx, c, "template.revert", t.Builtin.Language+"/"+t.Builtin.Name, "")
	return noContent{}, nil
}

// previewTemplate renders the template on the sample organisation and
// events: the body's draft when the request has a body, else the
// template in force. A draft that breaks is answered with its problem.
func (h *handler) previewTemplate(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	if h.notifier == nil {
		return nil, errNoNotifier
	}
	t, err := h.pathTemplate(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	var pv notify.Preview
	if r.ContentLength == 0 {
		pv, err = h.notifier.Preview(ctx, t.Builtin.Language, t.Builtin.Name, notify.SampleOrganisation(), notify.SampleEvents())
	} else {
		draft, derr := draftOf(r, t, c.user.Name)
		if derr != nil {
			return nil, derr
		}
		pv, err = h.notifier.PreviewDraft(ctx, draft, notify.SampleOrganisation(), notify.SampleEvents())
	}
	var te *notify.TemplateError
	if errors.As(err, &te) {
		return previewJSON{Attachments: []attachmentJSON{}, Problem: templateProblem(te)}, nil
	}
	if err != nil {
		return nil, err
	}
	out := previewJSON{Subject: pv.Subject, Text: pv.Text, Parts: pv.Parts, Attachments: []attachmentJSON{}}
	for _, a := range pv.Attachments {
		out.Attachments = append(out.Attachments, attachmentJSON{Name: a.Name, Events: a.Events, Gzipped: a.Gzipped})
	}
	return out, nil
}
