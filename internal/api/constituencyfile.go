package api

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// The whole constituency as a file, in the formats of the console and
// `vigil constituency` (CSV or JSON, see constituency.Format): export,
// and import checked first (dry_run=true: what it would create, update
// and delete, and every problem with its line) and applied in one
// transaction of the store, refused while anything is wrong.

var (
	exportParams = []string{"format"}
	importParams = []string{"format", "replace", "dry_run", "version"}
)

// maxImportBytes bounds an import's body, as the console's upload.
const maxImportBytes = 10 << 20

// file is a handler result sent as a download, written whole.
type file struct {
	contentType string
	filename    string
	body        []byte
}

func (h *handler) exportConstituency(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, exportParams); err != nil {
		return nil, err
	}
	format := constituency.FormatJSON
	if v := values.Get("format"); v != "" {
		f, err := constituency.ParseFormat(v)
		if err != nil {
			return nil, badParameterText("format", i18n.M("api.error.import.format"))
		}
		format = f
	}
	orgs, err := h.store.ListOrganisations(r.Context(), constituency.OrganisationQuery{})
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	// Written whole before the first byte goes out, so that a failure is
	// an error and not a cut-off file.
	var buf bytes.Buffer
	if err := constituency.Write(&buf, format, orgs); err != nil {
		return nil, fmt.Errorf("export constituency: %w", err)
	}
	contentType := "text/csv; charset=utf-8"
	if format == constituency.FormatJSON {
		contentType = "application/json"
	}
	name := fmt.Sprintf("vigil-constituency-%s.%s", time.Now().UTC().Format("20060102T150405Z"), format)
	return &file{contentType: contentType, filename: name, body: buf.Bytes()}, nil
}

type importStepJSON struct {
	Action string `json:"action"`
	Handle string `json:"handle"`
	Name   string `json:"name"`
}

type importJSON struct {
	DryRun bool `json:"dry_run"`
	// Version is the constituency's version the plan was made against; a
	// later import given it is refused if anything changed since.
	Version   int64            `json:"version"`
	Created   int              `json:"created"`
	Updated   int              `json:"updated"`
	Deleted   int              `json:"deleted"`
	Unchanged int              `json:"unchanged"`
	Steps     []importStepJSON `json:"steps"`
	// Notes are what is worth knowing but allowed.
	Notes []problemJSON `json:"notes"`
}

// boolParam reads a true/false parameter, false when absent.
func boolParam(values map[string][]string, name string) (bool, error) {
	switch v := firstValue(values, name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, badParameterText(name, i18n.M("api.error.param.bool", name))
}

func firstValue(values map[string][]string, name string) string {
	if vs := values[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// importFormat is the format parameter, else the body's media type.
func importFormat(r *http.Request) (constituency.Format, error) {
	if v := r.URL.Query().Get("format"); v != "" {
		f, err := constituency.ParseFormat(v)
		if err != nil {
			return "", badParameterText("format", i18n.M("api.error.import.format"))
		}
		return f, nil
	}
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "text/csv":
		return constituency.FormatCSV, nil
	case "application/json":
		return constituency.FormatJSON, nil
	}
	return "", badParameterText("format", i18n.M("api.error.import.format"))
}

// fileProblems are a constituency file's problems as the API lists them.
func fileProblems(problems []constituency.Problem) []problemJSON {
	out := []problemJSON{}
	for _, p := range problems {
		out = append(out, problemJSON{Field: p.Field, Value: p.Value, Reason: p.Reason, text: p.Message,
			Line: p.Line, Handle: p.Handle, Severity: p.Severity.String()})
	}
	return out
}

func invalidFile(problems []constituency.Problem) *Error {
	e := errorText(http.StatusBadRequest, "invalid_file", "", i18n.M("api.error.import.invalid"))
	e.Problems = fileProblems(problems)
	return e
}

func (h *handler) importConstituency(r *http.Request, c *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, importParams); err != nil {
		return nil, err
	}
	replace, err := boolParam(values, "replace")
	if err != nil {
		return nil, err
	}
	dryRun, err := boolParam(values, "dry_run")
	if err != nil {
		return nil, err
	}
	var version int64 = -1
	if v := values.Get("version"); v != "" {
		if version, err = strconv.ParseInt(v, 10, 64); err != nil || version < 0 {
			return nil, badParameterText("version", i18n.M("api.error.import.version"))
		}
	}
	format, err := importFormat(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	checked, err := constituency.CheckImport(ctx, h.store, http.MaxBytesReader(nil, r.Body, maxImportBytes), format, replace)
	var invalid *constituency.InvalidError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &invalid):
		return nil, invalidFile(invalid.Problems)
	case errors.As(err, &tooLarge):
		return nil, errorText(http.StatusRequestEntityTooLarge, "body_too_large", "", i18n.M("api.error.body.large", maxImportBytes))
	case errors.Is(err, constituency.ErrUnreadable):
		return nil, badParameterText("body", i18n.M("api.error.import.unreadable"))
	case err != nil:
		return nil, err
	}
	plan := checked.Plan
	if constituency.HasErrors(plan.Problems) {
		return nil, invalidFile(plan.Problems)
	}
	out := importJSON{DryRun: dryRun, Version: checked.Version, Created: plan.Created, Updated: plan.Updated,
		Deleted: plan.Deleted, Unchanged: plan.Unchanged, Steps: []importStepJSON{},
		Notes: fileProblems(append(checked.Notes, plan.Problems...))}
	for _, s := range plan.Steps {
		out.Steps = append(out.Steps, importStepJSON{Action: s.Action, Handle: s.Handle, Name: s.Name})
	}
	if dryRun {
		return out, nil
	}
	// The plan answered is the one of this request's check; a version
	// from an earlier dry run must still be the constituency's.
	if version >= 0 && version != checked.Version {
		return nil, errorText(http.StatusConflict, "constituency_changed", "", i18n.M("api.error.import.changed"))
	}
	res, err := h.store.ImportOrganisations(ctx, checked.Orgs, replace)
	var retired *constituency.RetiredHandleError
	if errors.As(err, &retired) {
		e := errorText(http.StatusConflict, "handle_retired", "", i18n.M("org.error.handle.retired", retired.Handle))
		e.Problems = []problemJSON{{Field: constituency.FieldHandle, Value: retired.Handle, Handle: retired.Handle,
			Reason: i18n.M("org.error.handle.retired", retired.Handle).String(), text: i18n.M("org.error.handle.retired", retired.Handle)}}
		return nil, e
	}
	var refused *constituency.DeleteRefusedError
	if errors.As(err, &refused) {
		m := i18n.M("api.error.import.accounts", refused.Handle)
		e := errorText(http.StatusConflict, "organisation_has_accounts", "", m)
		e.Problems = []problemJSON{{Field: constituency.FieldHandle, Value: refused.Handle, Handle: refused.Handle,
			Reason: m.String(), text: m}}
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("import constituency: %w", err)
	}
	h.audit(ctx, c, "constituency.import", "API upload", constituency.ImportDetail(replace, res))
	h.constituencyChangedNow(ctx)
	out.Created, out.Updated, out.Deleted = res.Created, res.Updated, res.Deleted
	if out.Version, err = h.store.ConstituencyVersion(ctx); err != nil {
		return nil, fmt.Errorf("constituency version: %w", err)
	}
	return out, nil
}
