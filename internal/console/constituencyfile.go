package console

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
)

// Importing and exporting the whole constituency as CSV or JSON. An import
// is checked first (a dry run: every problem with its line and column, or
// what would be created, updated and deleted) and applied only from that
// preview, as one transaction of the store.

// maxImportBytes bounds the upload form: ten megabytes hold a constituency
// of tens of thousands of organisations.
const maxImportBytes = 10 << 20

// importPage is the data of the import page: the form, and after a check
// its problems or its plan.
type importPage struct {
	Format   string // "", csv or json; "" tells it by the file name
	Replace  bool
	FileName string
	Checked  bool
	// Problems are what the check found: errors, which stop the import,
	// and notes.
	Problems  []importProblem
	HasErrors bool
	Create    []string
	Update    []string
	Delete    []string
	Unchanged int
	// Token names the checked import on the server, for "apply".
	Token string
}

// importProblem is one problem of a file, as the preview lists it.
type importProblem struct {
	Note   bool
	Line   int
	Column string
	Handle string
	Value  string
	Reason string
}

func (c *Console) importForm(w http.ResponseWriter, r *http.Request, v *visit) {
	c.render(w, r, v, http.StatusOK, "constituency_import", msgTitleImport, importPage{}, "", "")
}

// importConstituency checks an uploaded file (action check) or applies a
// checked one (action apply).
func (c *Console) importConstituency(w http.ResponseWriter, r *http.Request, v *visit) {
	if r.PostFormValue("action") == "apply" {
		c.applyImport(w, r, v)
		return
	}
	ctx := r.Context()
	p := importPage{Format: r.PostFormValue("format"), Replace: r.PostFormValue("mode") == "replace"}
	bad := func(msg string) {
		c.render(w, r, v, http.StatusBadRequest, "constituency_import", msgTitleImport, p, "", msg)
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		bad(msgImportNoFile)
		return
	}
	defer file.Close()
	p.FileName = header.Filename
	format, err := constituency.ParseFormat(p.Format)
	if p.Format == "" {
		format, err = constituency.FormatOf(header.Filename)
	}
	if err != nil {
		bad(msgImportFormat)
		return
	}
	p.Format = string(format)
	checked, err := constituency.CheckImport(ctx, c.store, file, format, p.Replace)
	var invalid *constituency.InvalidError
	switch {
	case errors.As(err, &invalid):
		p.Checked = true
		p.Problems, p.HasErrors = c.importProblems(v, invalid.Problems), true
		bad(msgImportInvalid)
		return
	case errors.Is(err, constituency.ErrUnreadable):
		c.logger.Info("constituency import unreadable", "user", v.user.Name, "file", header.Filename, "err", err)
		bad(msgImportUnreadable)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	p.Checked = true
	p.Problems = c.importProblems(v, checked.Notes)
	plan := checked.Plan
	p.Create, p.Update, p.Delete = plan.Labels(constituency.ActionCreate), plan.Labels(constituency.ActionUpdate), plan.Labels(constituency.ActionDelete)
	p.Unchanged = plan.Unchanged
	p.Problems = append(p.Problems, c.importProblems(v, plan.Problems)...)
	if constituency.HasErrors(plan.Problems) {
		p.HasErrors = true
		bad(msgImportInvalid)
		return
	}
	p.Token, err = c.imports.put(pendingImport{
		user: v.user.ID, orgs: checked.Orgs, replace: p.Replace, name: header.Filename, version: checked.Version,
		expires: c.now().Add(pendingImportLifetime),
	})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, http.StatusOK, "constituency_import", msgTitleImport, p, "", "")
}

// importProblems lists problems in the visitor's language; a problem
// without a Message (none that constituency reports) keeps its English
// reason.
func (c *Console) importProblems(v *visit, problems []constituency.Problem) []importProblem {
	out := make([]importProblem, 0, len(problems))
	for _, pr := range problems {
		out = append(out, importProblem{
			Note: pr.Severity == constituency.SeverityNote, Line: pr.Line, Column: pr.Field,
			Handle: pr.Handle, Value: pr.Value, Reason: pr.Reason,
		})
		if !pr.Message.IsZero() {
			out[len(out)-1].Reason = pr.Message.In(c.catalog, v.lang)
		}
	}
	return out
}

func (c *Console) applyImport(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	imp, ok := c.imports.take(r.PostFormValue("token"), v.user.ID, c.now())
	if !ok {
		c.render(w, r, v, http.StatusBadRequest, "constituency_import", msgTitleImport, importPage{}, "", msgImportExpired)
		return
	}
	// The plan shown was made against the constituency of the check; if it
	// changed since, what would happen is not what was shown.
	version, err := c.store.ConstituencyVersion(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if version != imp.version {
		c.render(w, r, v, http.StatusConflict, "constituency_import", msgTitleImport, importPage{}, "", msgImportChanged)
		return
	}
	res, err := c.store.ImportOrganisations(ctx, imp.orgs, imp.replace)
	var retired *constituency.RetiredHandleError
	if errors.As(err, &retired) {
		// Nothing was applied: the file must give that organisation
		// another short name.
		p := importPage{Checked: true, HasErrors: true, FileName: imp.name, Problems: []importProblem{{
			Column: constituency.FieldHandle, Handle: retired.Handle, Value: retired.Handle, Reason: c.tr(v, msgHandleRetired, retired.Handle),
		}}}
		c.render(w, r, v, http.StatusConflict, "constituency_import", msgTitleImport, p, "", "")
		return
	}
	var refused *constituency.DeleteRefusedError
	if errors.As(err, &refused) {
		// Nothing was applied: the organisation's accounts must be moved
		// or deleted first.
		p := importPage{Checked: true, HasErrors: true, FileName: imp.name, Problems: []importProblem{{
			Column: constituency.FieldHandle, Handle: refused.Handle, Value: refused.Handle, Reason: c.tr(v, "import.error.accounts", refused.Handle),
		}}}
		c.render(w, r, v, http.StatusConflict, "constituency_import", msgTitleImport, p, "", "")
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "constituency.import", imp.name, constituency.ImportDetail(imp.replace, res))
	c.constituencyChangedNow(ctx)
	redirectDone(w, r, "/constituency", "import")
}

// exportConstituency downloads every organisation in format.
func (c *Console) exportConstituency(format constituency.Format) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		orgs, err := c.store.ListOrganisations(r.Context(), constituency.OrganisationQuery{})
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		// Written whole before the first byte goes out, so that a failure
		// is an error page and not a cut-off file.
		var buf bytes.Buffer
		if err := constituency.Write(&buf, format, orgs); err != nil {
			c.fail(w, r, v, err)
			return
		}
		contentType := "text/csv; charset=utf-8"
		if format == constituency.FormatJSON {
			contentType = "application/json"
		}
		name := fmt.Sprintf("vigil-constituency-%s.%s", c.now().UTC().Format("20060102T150405Z"), format)
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	}
}

// pendingImportLifetime is how long a checked import can be applied.
const pendingImportLifetime = 30 * time.Minute

// maxPendingImports bounds the checked imports kept in memory; each
// person has at most one, the latest checked.
const maxPendingImports = 8

// pendingImport is a checked file waiting for "apply".
type pendingImport struct {
	user    int64
	orgs    []constituency.Organisation
	replace bool
	name    string
	version int64 // the constituency version it was checked against
	expires time.Time
}

// pendingImports keeps checked imports between the preview and "apply",
// so that the file is not uploaded twice. They live in this process only:
// behind a load balancer spreading one person's requests over several
// Vigil processes, "apply" may have to be preceded by a new check.
type pendingImports struct {
	mu      sync.Mutex
	byToken map[string]pendingImport
}

func newPendingImports() *pendingImports {
	return &pendingImports{byToken: map[string]pendingImport{}}
}

// put keeps imp under a new random token, replacing the person's earlier
// one and, when full, the one expiring first.
func (p *pendingImports) put(imp pendingImport) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("import token: %w", err)
	}
	token := hex.EncodeToString(b[:])
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, other := range p.byToken {
		if other.user == imp.user {
			delete(p.byToken, t)
		}
	}
	for len(p.byToken) >= maxPendingImports {
		oldest := ""
		for t, other := range p.byToken {
			if oldest == "" || other.expires.Before(p.byToken[oldest].expires) {
				oldest = t
			}
		}
		delete(p.byToken, oldest)
	}
	p.byToken[token] = imp
	return token, nil
}

// take removes and returns the import of token if it is user's and has
// not expired at now.
func (p *pendingImports) take(token string, user int64, now time.Time) (pendingImport, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	imp, ok := p.byToken[token]
	if !ok || imp.user != user {
		return pendingImport{}, false
	}
	delete(p.byToken, token)
	if now.After(imp.expires) {
		return pendingImport{}, false
	}
	return imp, true
}
