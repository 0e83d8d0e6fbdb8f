package console

import (
	"context"
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
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// The team's pages about the organisations it serves: the list with the
// "who owns this?" box, and one page per organisation to create, edit or
// delete it, with its notification policy, recent notifications, users and
// change requests. Every change is checked as a whole against the rest of
// the constituency (constituency.Normalize and Check) before it is stored,
// and the pipeline's table is rebuilt right after it.

// organisationsPerPage is the length of a page of the organisation list.
const organisationsPerPage = 50

// organisationRecentMessages is how many notifications the organisation
// page lists; the notification log has the rest.
const organisationRecentMessages = 20

// listPreview is how many networks or domains a list row shows before
// "and N more".
const listPreview = 3

// constituencyPage is the data of the organisation list.
type constituencyPage struct {
	Query     string
	Total     int64
	Rows      []organisationRow
	PrevURL   string
	NextURL   string
	Lookup    lookupResult
	CanManage bool
}

// organisationRow is one organisation in the list.
type organisationRow struct {
	ID             int64
	Handle         string
	Name           string
	Sector         string
	Country        string
	Networks       []string
	MoreNetworks   int
	Domains        []string
	MoreDomains    int
	ASNs           []string
	NotifyContacts int
}

// lookupResult answers the "who owns this?" box.
type lookupResult struct {
	Query   string
	Asked   bool
	Problem string // translated; the query was none of the kinds Lookup reads
	Matches []lookupMatch
}

// lookupMatch is one owner found, with the rule that matched.
type lookupMatch struct {
	OrgID  int64
	Handle string
	Name   string
	Rule   string // message ID
	Value  string
}

var ruleMessages = map[constituency.RuleKind]string{
	constituency.RulePrefix: msgLookupRulePrefix,
	constituency.RuleASN:    msgLookupRuleASN,
	constituency.RuleDomain: msgLookupRuleDomain,
}

func (c *Console) constituencyList(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	values := r.URL.Query()
	p := constituencyPage{Query: strings.TrimSpace(values.Get("q")), CanManage: v.can(auth.ManageConstituency)}
	q := store.OrganisationQuery{Text: p.Query}
	total, err := c.store.CountOrganisations(ctx, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Total = total
	pages := int((total + organisationsPerPage - 1) / organisationsPerPage)
	page, _ := strconv.Atoi(values.Get("page"))
	page = max(1, min(page, pages))
	q.Limit, q.Offset = organisationsPerPage, (page-1)*organisationsPerPage
	orgs, err := c.store.ListOrganisations(ctx, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, o := range orgs {
		p.Rows = append(p.Rows, listRow(o))
	}
	link := func(n int) string {
		u := url.Values{"page": {strconv.Itoa(n)}}
		if p.Query != "" {
			u.Set("q", p.Query)
		}
		return "/constituency?" + u.Encode()
	}
	if page > 1 {
		p.PrevURL = link(page - 1)
	}
	if page < pages {
		p.NextURL = link(page + 1)
	}
	p.Lookup, err = c.lookup(ctx, v, values.Get("lookup"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	status := http.StatusOK
	if p.Lookup.Problem != "" {
		status = http.StatusBadRequest
	}
	c.render(w, r, v, status, "constituency", msgTitleConstituency, p, flashOf(r), "")
}

func listRow(o store.Organisation) organisationRow {
	row := organisationRow{ID: o.ID, Handle: o.Handle, Name: o.Name, Sector: o.Sector, Country: o.Country}
	for i, n := range o.Networks {
		if i == listPreview {
			row.MoreNetworks = len(o.Networks) - i
			break
		}
		row.Networks = append(row.Networks, n.String())
	}
	for i, d := range o.Domains {
		if i == listPreview {
			row.MoreDomains = len(o.Domains) - i
			break
		}
		row.Domains = append(row.Domains, d)
	}
	for _, a := range o.ASNs {
		row.ASNs = append(row.ASNs, "AS"+strconv.FormatUint(uint64(a), 10))
	}
	for _, ct := range o.Contacts {
		if ct.Notify {
			row.NotifyContacts++
		}
	}
	return row
}

// lookup answers query with the table the pipeline uses. An empty query
// is no question; one that is not an address, network, AS or domain is
// answered with a problem, not an error.
func (c *Console) lookup(ctx context.Context, v *visit, query string) (lookupResult, error) {
	res := lookupResult{Query: strings.TrimSpace(query)}
	if res.Query == "" {
		return res, nil
	}
	res.Asked = true
	table, err := c.constituencyTable(ctx)
	if err != nil {
		return res, err
	}
	matches, err := table.Lookup(res.Query)
	if err != nil {
		// Lookup fails only on what was typed.
		res.Problem = msgLookupBad
		return res, nil
	}
	for _, m := range matches {
		lm := lookupMatch{OrgID: m.OrgID, Handle: m.Handle, Rule: ruleMessages[m.Rule], Value: m.Value}
		o, err := c.store.GetOrganisation(ctx, m.OrgID)
		switch {
		case err == nil:
			lm.Name = o.Name
		case !errors.Is(err, store.ErrNotFound):
			return res, err
		}
		// A deleted organisation still in a table that has not been
		// rebuilt yet is shown by its handle alone.
		res.Matches = append(res.Matches, lm)
	}
	return res, nil
}

// constituencyTable is the pipeline's table when the console has the
// directory, else one built from the store now.
func (c *Console) constituencyTable(ctx context.Context) (*constituency.Table, error) {
	if c.directory != nil {
		if c.directory.Version() < 0 {
			if err := c.directory.Reload(ctx); err != nil {
				return nil, fmt.Errorf("load constituency table: %w", err)
			}
		}
		return c.directory.Table(), nil
	}
	orgs, err := c.store.ListOrganisations(ctx, store.OrganisationQuery{})
	if err != nil {
		return nil, fmt.Errorf("constituency table: %w", err)
	}
	return constituency.NewTable(orgs), nil
}

// constituencyChangedNow tells the pipeline that organisations changed. A
// failed reload is logged: the change is stored, and the directory's own
// polling picks it up a few seconds later.
func (c *Console) constituencyChangedNow(ctx context.Context) {
	switch {
	case c.constituencyChanged != nil:
		c.constituencyChanged(ctx)
	case c.directory != nil:
		if err := c.directory.Reload(ctx); err != nil {
			c.logger.Error("reload constituency table", "err", err)
		}
	}
}

// organisationForm is the organisation form as typed: the lists are the
// textareas' text, so that a refused form comes back exactly as it was.
type organisationForm struct {
	Handle   string
	Name     string
	Sector   string
	Country  string
	Language string
	Notes    string
	Networks string
	ASNs     string
	Domains  string
	Contacts []contactRow
}

// contactRow is one row of the contacts table.
type contactRow struct {
	Index    int   // the row's number in the form's field names
	ID       int64 // the stored contact's ID; 0 for a new row
	Name     string
	Email    string
	Phone    string
	Role     string
	PGPKey   string
	Notify   bool
	Remove   bool
	Key      keyBadge
	Problems []string // translated
}

func (r contactRow) blank() bool {
	return r.ID == 0 && r.Name == "" && r.Email == "" && r.Phone == "" && strings.TrimSpace(r.PGPKey) == ""
}

// keyBadge is what the console says about a contact's OpenPGP key.
type keyBadge struct {
	Present     bool
	Usable      bool
	Soon        bool // usable, but not for long
	Fingerprint string
	Text        string // translated: until when it is usable, or why not
}

// blankContactRows is how many empty rows the contacts table offers:
// without JavaScript a form cannot grow, so there is always room for two
// more, and saving gives two new empty ones.
const blankContactRows = 2

// maxContactRows bounds the rows a posted form may claim to have.
const maxContactRows = 500

// organisationPage is the data of one organisation's page, and of the
// creation form (New).
type organisationPage struct {
	New       bool
	CanManage bool
	Org       store.Organisation // as stored; zero for New
	Form      organisationForm
	// Problems are the translated problems of each field
	// (constituency.Field… names); Notes what Check found worth knowing.
	Problems  map[string][]string
	Notes     []string
	Languages []string
	Roles     []string

	Policy   policySummary
	Messages []store.OutboxMessage
	MoreURL  string // the notification log of the organisation
	Users    []store.User
	Requests []store.ChangeRequest
}

func (c *Console) newOrganisationForm(w http.ResponseWriter, r *http.Request, v *visit) {
	p := c.organisationData(v)
	p.New = true
	p.Form.Language = constituency.Languages[0]
	p.Form.Contacts = withBlankRows(nil)
	c.render(w, r, v, http.StatusOK, "organisation", msgTitleOrganisationNew, p, "", "")
}

func (c *Console) organisationData(v *visit) organisationPage {
	return organisationPage{
		CanManage: v.can(auth.ManageConstituency),
		Problems:  map[string][]string{},
		Languages: constituency.Languages,
		Roles:     constituency.Roles,
	}
}

// withBlankRows numbers rows and appends the empty rows for new contacts.
func withBlankRows(rows []contactRow) []contactRow {
	blank := 0
	for i := len(rows) - 1; i >= 0 && rows[i].blank(); i-- {
		blank++
	}
	for ; blank < blankContactRows; blank++ {
		rows = append(rows, contactRow{Role: constituency.Roles[0]})
	}
	for i := range rows {
		rows[i].Index = i
	}
	return rows
}

func (c *Console) createOrganisation(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	p := c.organisationData(v)
	p.New = true
	p.Form = readOrganisationForm(r)
	o, ok, err := c.checkOrganisation(ctx, v, &p, 0)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if ok {
		err = c.store.CreateOrganisation(ctx, &o)
		var retired *store.RetiredHandleError
		if errors.As(err, &retired) {
			p.Problems[constituency.FieldHandle] = append(p.Problems[constituency.FieldHandle], c.tr(v, msgHandleRetired, o.Handle))
			ok = false
		} else if errors.Is(err, store.ErrConflict) {
			// Taken between the check and the insert.
			p.Problems[constituency.FieldHandle] = append(p.Problems[constituency.FieldHandle], c.tr(v, msgHandleTaken, o.Handle))
			ok = false
		} else if err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	if !ok {
		p.Form.Contacts = withBlankRows(p.Form.Contacts)
		c.withKeyBadges(v, p.Form.Contacts)
		c.render(w, r, v, http.StatusBadRequest, "organisation", msgTitleOrganisationNew, p, "", msgOrganisationInvalid)
		return
	}
	c.audit(ctx, v, "organisation.create", o.Handle, organisationSummary(o))
	c.constituencyChangedNow(ctx)
	redirectDone(w, r, "/constituency/"+strconv.FormatInt(o.ID, 10), "organisation")
}

// organisationSummary is the audit detail of a saved organisation: what it
// holds, not the contacts' details.
func organisationSummary(o store.Organisation) string {
	return fmt.Sprintf("%d networks, %d AS numbers, %d domains, %d contacts", len(o.Networks), len(o.ASNs), len(o.Domains), len(o.Contacts))
}

// pathOrganisation loads the organisation of the {id} in the path; it
// answers the request itself (not found, failure) when it returns false.
func (c *Console) pathOrganisation(w http.ResponseWriter, r *http.Request, v *visit) (store.Organisation, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r, v)
		return store.Organisation{}, false
	}
	o, err := c.store.GetOrganisation(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return o, false
	}
	if err != nil {
		c.fail(w, r, v, err)
		return o, false
	}
	return o, true
}

func (c *Console) organisationPage(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	p := c.organisationData(v)
	p.Org = o
	p.Form = formOf(o)
	c.showOrganisation(w, r, v, http.StatusOK, p, flashOf(r), "")
}

// showOrganisation renders an existing organisation's page with what the
// other sections need.
func (c *Console) showOrganisation(w http.ResponseWriter, r *http.Request, v *visit, status int, p organisationPage, flash, problem string) {
	ctx := r.Context()
	id := p.Org.ID
	var err error
	if p.Policy, err = c.policySummaryOf(ctx, p.Org); err != nil {
		c.fail(w, r, v, err)
		return
	}
	msgs, err := c.store.ListMessages(ctx, store.MessageQuery{OrgID: id, Limit: organisationRecentMessages + 1})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if len(msgs) > organisationRecentMessages {
		msgs = msgs[:organisationRecentMessages]
		p.MoreURL = "/notifications?org=" + strconv.FormatInt(id, 10)
	}
	p.Messages = msgs
	users, err := c.store.ListUsers(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, u := range users {
		if u.OrgID == id {
			p.Users = append(p.Users, u)
		}
	}
	if p.Requests, err = c.store.ListChangeRequests(ctx, id, true); err != nil {
		c.fail(w, r, v, err)
		return
	}
	openFirst(p.Requests)
	if status == http.StatusOK {
		if p.Notes, err = c.standingNotes(ctx, p.Org); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	p.Form.Contacts = withBlankRows(p.Form.Contacts)
	c.withKeyBadges(v, p.Form.Contacts)
	c.render(w, r, v, status, "organisation", msgTitleOrganisation, p, flash, problem)
}

// standingNotes are what Check says about o in the stored constituency,
// such as its network lying inside another organisation's: worth seeing
// every time the page is opened, not only when the form was refused.
func (c *Console) standingNotes(ctx context.Context, o store.Organisation) ([]string, error) {
	all, err := c.store.ListOrganisations(ctx, store.OrganisationQuery{})
	if err != nil {
		return nil, fmt.Errorf("check constituency: %w", err)
	}
	var notes []string
	for _, pr := range constituency.Check(all) {
		if pr.Handle == o.Handle {
			notes = append(notes, fieldProblemText(&constituency.FieldError{Value: pr.Value, Reason: pr.Reason}, pr.Value))
		}
	}
	return notes, nil
}

// formOf is the form of a stored organisation, with its contacts' key
// badges.
func formOf(o store.Organisation) organisationForm {
	f := organisationForm{
		Handle: o.Handle, Name: o.Name, Sector: o.Sector, Country: o.Country, Language: o.Language, Notes: o.Notes,
	}
	lines := make([]string, 0, max(len(o.Networks), len(o.ASNs), len(o.Domains)))
	for _, n := range o.Networks {
		lines = append(lines, n.String())
	}
	f.Networks = strings.Join(lines, "\n")
	lines = lines[:0]
	for _, a := range o.ASNs {
		lines = append(lines, "AS"+strconv.FormatUint(uint64(a), 10))
	}
	f.ASNs = strings.Join(lines, "\n")
	f.Domains = strings.Join(o.Domains, "\n")
	for _, ct := range o.Contacts {
		f.Contacts = append(f.Contacts, contactRow{
			ID: ct.ID, Name: ct.Name, Email: ct.Email, Phone: ct.Phone, Role: ct.Role, PGPKey: ct.PGPKey, Notify: ct.Notify,
		})
	}
	return f
}

// readOrganisationForm reads the posted form as typed.
func readOrganisationForm(r *http.Request) organisationForm {
	f := organisationForm{
		Handle:   strings.TrimSpace(r.PostFormValue("handle")),
		Name:     r.PostFormValue("name"),
		Sector:   r.PostFormValue("sector"),
		Country:  r.PostFormValue("country"),
		Language: r.PostFormValue("language"),
		Notes:    r.PostFormValue("notes"),
		Networks: r.PostFormValue("networks"),
		ASNs:     r.PostFormValue("asns"),
		Domains:  r.PostFormValue("domains"),
	}
	n, _ := strconv.Atoi(r.PostFormValue("contacts"))
	n = max(0, min(n, maxContactRows))
	for i := range n {
		field := func(name string) string { return r.PostFormValue(fmt.Sprintf("c%d.%s", i, name)) }
		id, _ := strconv.ParseInt(field("id"), 10, 64)
		f.Contacts = append(f.Contacts, contactRow{
			ID: max(id, 0), Name: field("name"), Email: field("email"), Phone: field("phone"), Role: field("role"),
			PGPKey: field("key"), Notify: field("notify") == "on", Remove: field("remove") == "on",
		})
	}
	return f
}

// listItems splits a textarea into its entries: one a line, as the form
// asks, but commas and spaces separate too, as people paste lists.
func listItems(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' || r == ';'
	})
}

// checkOrganisation turns the form of p into an organisation and checks it
// on its own (Normalize) and against every other organisation (Check and
// the direct conflicts), filling p's problems and notes.
// selfID is the organisation being edited, 0 for a new one. ok is false
// when anything must be fixed first.
func (c *Console) checkOrganisation(ctx context.Context, v *visit, p *organisationPage, selfID int64) (store.Organisation, bool, error) {
	f := &p.Form
	o := store.Organisation{
		Handle: f.Handle, Name: f.Name, Sector: f.Sector, Country: f.Country, Language: f.Language, Notes: f.Notes,
	}
	bad := func(field, text string) { p.Problems[field] = append(p.Problems[field], text) }
	for _, s := range listItems(f.Networks) {
		n, err := constituency.ParseNetwork(s)
		if err != nil {
			bad(constituency.FieldNetworks, fieldProblemText(err, s))
			continue
		}
		o.Networks = append(o.Networks, n)
	}
	for _, s := range listItems(f.ASNs) {
		a, err := constituency.ParseASN(s)
		if err != nil {
			bad(constituency.FieldASNs, fieldProblemText(err, s))
			continue
		}
		o.ASNs = append(o.ASNs, a)
	}
	o.Domains = listItems(f.Domains)
	// rowOf maps a contact's position in o (1-based, as Normalize counts)
	// to its row in the form.
	var rowOf []int
	for i, row := range f.Contacts {
		if row.Remove || row.blank() {
			continue
		}
		o.Contacts = append(o.Contacts, store.Contact{
			ID: row.ID, Name: row.Name, Email: row.Email, Phone: row.Phone, Role: row.Role, PGPKey: row.PGPKey, Notify: row.Notify,
		})
		rowOf = append(rowOf, i)
	}

	err := constituency.Normalize(&o)
	var fes constituency.FieldErrors
	switch {
	case errors.As(err, &fes):
		for _, fe := range fes {
			text := fieldProblemText(fe, fe.Value)
			if fe.Contact > 0 && fe.Contact <= len(rowOf) {
				row := &f.Contacts[rowOf[fe.Contact-1]]
				row.Problems = append(row.Problems, text)
				continue
			}
			bad(fe.Field, text)
		}
	case err != nil:
		return o, false, fmt.Errorf("normalize organisation: %w", err)
	}
	normalized := len(p.Problems) == 0 && !slices.ContainsFunc(f.Contacts, func(r contactRow) bool { return len(r.Problems) > 0 })

	all, err := c.store.ListOrganisations(ctx, store.OrganisationQuery{})
	if err != nil {
		return o, false, fmt.Errorf("check organisation: %w", err)
	}
	others := slices.DeleteFunc(all, func(x store.Organisation) bool { return x.ID == selfID })
	// What another organisation has already is said even while other
	// fields are wrong, so that one round of corrections is enough.
	taken := conflicts(o, others)
	for _, t := range taken {
		bad(t.field, c.tr(v, t.message, t.value, t.owner))
	}
	if !normalized {
		// Check needs normalized organisations.
		return o, false, nil
	}
	// Check's problems that come with this organisation: those of the
	// constituency with it that the constituency without it does not have.
	// The direct conflicts above are already said, better.
	before := map[constituency.Problem]int{}
	for _, pr := range constituency.Check(others) {
		before[pr]++
	}
	for _, pr := range constituency.Check(append(slices.Clip(others), o)) {
		if before[pr] > 0 {
			before[pr]--
			continue
		}
		if slices.ContainsFunc(taken, func(t conflict) bool { return t.field == pr.Field && t.value == pr.Value }) ||
			pr.Field == constituency.FieldHandle {
			continue
		}
		text := fieldProblemText(&constituency.FieldError{Value: pr.Value, Reason: pr.Reason}, pr.Value)
		if pr.Handle != o.Handle {
			text = pr.Handle + ": " + text
		}
		if pr.Severity == constituency.SeverityNote {
			p.Notes = append(p.Notes, text)
			continue
		}
		bad(pr.Field, text)
	}
	return o, len(p.Problems) == 0, nil
}

// fieldProblemText writes a refused value and the reason, as the
// constituency package gives it for a person.
func fieldProblemText(err error, value string) string {
	var fe *constituency.FieldError
	if !errors.As(err, &fe) {
		return value
	}
	if fe.Value != "" {
		value = fe.Value
	}
	if value == "" {
		return fe.Reason
	}
	return value + ": " + fe.Reason
}

// conflict is a network, AS or domain of the organisation that another
// one has already.
type conflict struct {
	field, value, owner string
	message             string // message ID with the value and the owner's name
}

// conflicts finds what o claims that one of others has already, and a
// handle already taken.
func conflicts(o store.Organisation, others []store.Organisation) []conflict {
	nets := map[netip.Prefix]string{}
	asns := map[uint32]string{}
	domains := map[string]string{}
	handles := map[string]string{}
	for _, x := range others {
		for _, n := range x.Networks {
			nets[n] = x.Name
		}
		for _, a := range x.ASNs {
			asns[a] = x.Name
		}
		for _, d := range x.Domains {
			domains[d] = x.Name
		}
		handles[x.Handle] = x.Name
	}
	var out []conflict
	if owner, ok := handles[o.Handle]; ok {
		out = append(out, conflict{constituency.FieldHandle, o.Handle, owner, msgHandleTakenBy})
	}
	for _, n := range o.Networks {
		if owner, ok := nets[n]; ok {
			out = append(out, conflict{constituency.FieldNetworks, n.String(), owner, msgNetworkTaken})
		}
	}
	for _, a := range o.ASNs {
		if owner, ok := asns[a]; ok {
			out = append(out, conflict{constituency.FieldASNs, "AS" + strconv.FormatUint(uint64(a), 10), owner, msgASNTaken})
		}
	}
	for _, d := range o.Domains {
		if owner, ok := domains[d]; ok {
			out = append(out, conflict{constituency.FieldDomains, d, owner, msgDomainTaken})
		}
	}
	return out
}

// keyExpiresSoon is how long before its expiry a key is flagged, so that
// the team asks for a new one in time.
const keyExpiresSoon = 30 * 24 * time.Hour

// withKeyBadges judges every row's key as the notifier will when it
// sends: an unusable key means no message at all for that contact.
func (c *Console) withKeyBadges(v *visit, rows []contactRow) {
	now := c.now()
	for i := range rows {
		rows[i].Key = c.keyBadge(v, rows[i].PGPKey, now)
	}
}

func (c *Console) keyBadge(v *visit, key string, now time.Time) keyBadge {
	if strings.TrimSpace(key) == "" {
		return keyBadge{}
	}
	ks := pgpmime.InspectKey(key, now)
	b := keyBadge{Present: true, Usable: ks.Usable, Fingerprint: ks.Fingerprint}
	switch {
	case ks.Usable && ks.Expires.IsZero():
		b.Text = c.tr(v, msgKeyUsable)
	case ks.Usable:
		b.Text = c.tr(v, msgKeyUsableUntil, day(ks.Expires))
		b.Soon = ks.Expires.Sub(now) < keyExpiresSoon
	case !ks.Expires.IsZero() && !ks.Expires.After(now):
		b.Text = c.tr(v, msgKeyExpired, day(ks.Expires))
	default:
		b.Text = c.tr(v, msgKeyUnusable, ks.Problem)
	}
	return b
}

// day writes a date the way the console's tables do, without the time.
func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func (c *Console) updateOrganisation(w http.ResponseWriter, r *http.Request, v *visit) {
	current, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	p := c.organisationData(v)
	p.Org = current
	p.Form = readOrganisationForm(r)
	// The handle is what stored events are tagged with: whatever the form
	// says, it stays.
	p.Form.Handle = current.Handle
	o, ok, err := c.checkOrganisation(ctx, v, &p, current.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if !ok {
		c.showOrganisation(w, r, v, http.StatusBadRequest, p, "", msgOrganisationInvalid)
		return
	}
	o.ID = current.ID
	store.KeepContactIDs(current.Contacts, o.Contacts, true)
	if err := c.store.UpdateOrganisation(ctx, &o); errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return
	} else if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "organisation.update", o.Handle, organisationSummary(o))
	c.constituencyChangedNow(ctx)
	redirectDone(w, r, "/constituency/"+strconv.FormatInt(o.ID, 10), "organisation")
}

// deletePage is the data of the confirmation before deleting.
type deletePage struct {
	Org   store.Organisation
	Users int
}

func (c *Console) deleteOrganisationForm(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	c.showDelete(w, r, v, o, http.StatusOK, "")
}

func (c *Console) showDelete(w http.ResponseWriter, r *http.Request, v *visit, o store.Organisation, status int, problem string) {
	users, err := c.store.ListUsers(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := deletePage{Org: o}
	for _, u := range users {
		if u.OrgID == o.ID {
			p.Users++
		}
	}
	c.render(w, r, v, status, "organisation_delete", msgTitleOrganisationDelete, p, "", problem)
}

func (c *Console) deleteOrganisation(w http.ResponseWriter, r *http.Request, v *visit) {
	o, ok := c.pathOrganisation(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	if r.PostFormValue("confirm") != o.Handle {
		c.showDelete(w, r, v, o, http.StatusBadRequest, msgDeleteConfirm)
		return
	}
	err := c.store.DeleteOrganisation(ctx, o.ID)
	switch {
	case errors.Is(err, store.ErrConflict):
		c.showDelete(w, r, v, o, http.StatusConflict, msgDeleteHasUsers)
		return
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r, v)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	c.audit(ctx, v, "organisation.delete", o.Handle, o.Name)
	c.constituencyChangedNow(ctx)
	redirectDone(w, r, "/constituency", "organisation-deleted")
}

// openFirst puts open change requests before handled ones, each group
// keeping its order (newest first, as the store lists them).
func openFirst(reqs []store.ChangeRequest) {
	slices.SortStableFunc(reqs, func(a, b store.ChangeRequest) int {
		switch {
		case a.Done == b.Done:
			return 0
		case !a.Done:
			return -1
		}
		return 1
	})
}

// can reports whether the visitor's role has permission p, for pages that
// show some parts only to some roles.
func (v *visit) can(p auth.Permission) bool { return auth.Can(v.user.Role, p) }

// tr translates message id with args into the visitor's language, for
// texts made in Go rather than in templates.
func (c *Console) tr(v *visit, id string, args ...any) string {
	return c.catalog.T(v.lang, id, args...)
}
