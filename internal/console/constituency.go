package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
)

// The team's pages about the organisations it serves: the list with the
// "who owns this?" box, and one page per organisation to create, edit or
// delete it, with its notification policy, recent notifications, users and
// change requests. Every change is checked as a whole against the rest of
// the constituency (constituency.Normalize and Check) before it is stored,
// and the pipeline's table is rebuilt right after it. This file holds the
// list and the lookup; organisation.go the organisation's page, and
// organisationform.go its form and the checks.
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
	Disabled       bool
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
	// Disabled: the organisation is disabled (it still owns what matched).
	Disabled bool
}

var ruleMessages = map[constituency.RuleKind]string{
	constituency.RuleNetwork: msgLookupRulePrefix,
	constituency.RuleASN:     msgLookupRuleASN,
	constituency.RuleDomain:  msgLookupRuleDomain,
}

func (c *Console) constituencyList(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	values := r.URL.Query()
	p := constituencyPage{Query: strings.TrimSpace(values.Get("q")), CanManage: v.can(auth.ManageConstituency)}
	q := constituency.OrganisationQuery{Text: p.Query}
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

func listRow(o constituency.Organisation) organisationRow {
	row := organisationRow{ID: o.ID, Handle: o.Handle, Name: o.Name, Sector: o.Sector, Country: o.Country, Disabled: o.Disabled}
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
	found, err := constituency.Owners(ctx, c.directory, c.store, res.Query)
	if errors.Is(err, constituency.ErrNotAQuery) {
		res.Problem = msgLookupBad
		return res, nil
	}
	if err != nil {
		return res, err
	}
	for _, o := range found {
		// A deleted organisation still in a table that has not been
		// rebuilt yet is shown by its handle alone.
		res.Matches = append(res.Matches, lookupMatch{OrgID: o.OrgID, Handle: o.Handle, Name: o.Name, Disabled: o.Disabled, Rule: ruleMessages[o.Rule], Value: o.Value})
	}
	return res, nil
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
