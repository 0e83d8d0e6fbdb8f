package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
)

// deadLetterPageSize is how many letters a page lists.
const deadLetterPageSize = 100

// maxShownInput is how much of a letter's input the list shows.
const maxShownInput = 2000

// deadLettersPage is the data of the dead-letter list.
type deadLettersPage struct {
	Feed string
	// Show is the state filter: "" (pending), "discarded" (with the
	// discarded ones) or "all" (re-run ones too); States links each.
	Show    string
	States  []stateLink
	Feeds   []feedCount
	Letters []letterRow
	// CanWork allows discarding; CanRetry re-running too (it needs a
	// pipeline in this process).
	CanWork  bool
	CanRetry bool
	// FeedPending is the number of pending letters of Feed, for the
	// button that re-runs them all.
	FeedPending int64
	NextURL     string
}

// stateLink is one choice of the state filter.
type stateLink struct {
	Label   string
	URL     string
	Current bool
}

// showStates are the state filter's values and their labels.
var showStates = []struct{ value, label string }{
	{"", msgShowPending},
	{"discarded", msgShowDiscarded},
	{"all", msgShowAll},
}

type feedCount struct {
	Feed    string
	Pending int64
	URL     string
}

type letterRow struct {
	ID     int64
	URL    string
	Feed   string
	Parser string
	Source string
	Line   int64
	// Error is why the letter was refused, in the viewer's language
	// when the reason has a message.
	Error     string
	Input     string
	Truncated bool
	Time      time.Time
	// State is the message id of the letter's state when it is not
	// pending; Pending, RetryError and the discard say the rest.
	State         string
	Pending       bool
	Edited        bool
	RetryError    string
	RetryTime     time.Time
	DiscardedBy   string
	DiscardReason string
}

// rowOf is the list row of l, its reason in the viewer's language.
func (c *Console) rowOf(v *visit, l store.DeadLetter) letterRow {
	in, cut := shownInput(l.Input)
	row := letterRow{ID: l.ID, URL: "/deadletters/" + strconv.FormatInt(l.ID, 10), Feed: l.Feed, Parser: l.Parser,
		Source: l.Source, Line: l.Line, Error: l.Reason(c.catalog, v.lang), Input: in, Truncated: cut, Time: l.Time, Pending: l.Pending(),
		Edited: l.Edited != nil, RetryError: l.RetryReason(c.catalog, v.lang), RetryTime: l.RetryTime,
		DiscardedBy: l.DiscardedBy, DiscardReason: l.DiscardReason}
	if !l.Pending() {
		row.State = stateMessages[l.State()]
	}
	return row
}

// shownInput makes a letter's input displayable: text as is, anything
// else quoted Go-style so control bytes are visible, not interpreted.
func shownInput(b []byte) (string, bool) {
	truncated := false
	if len(b) > maxShownInput {
		b, truncated = b[:maxShownInput], true
	}
	if isText(b) {
		return string(b), truncated
	}
	return strconv.Quote(string(b)), truncated
}

// isText reports whether b is UTF-8 without control characters other than
// tab and line breaks: such input can be shown as it is.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	query := r.URL.Query()
	feed := strings.TrimSpace(query.Get("feed"))
	show := query.Get("show")
	before, _ := strconv.ParseInt(query.Get("before"), 10, 64)
	counts, err := c.store.CountDeadLetters(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	q := store.DeadLetterQuery{Feed: feed, Limit: deadLetterPageSize + 1, BeforeID: before}
	switch show {
	case "all":
		q.IncludeRetried, q.IncludeDiscarded = true, true
	case "discarded":
		q.IncludeDiscarded = true
	default:
		show = ""
	}
	letters, err := c.store.ListDeadLetters(ctx, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	canWork := auth.Can(v.user.Role, auth.RetryDeadLetters)
	p := deadLettersPage{Feed: feed, Show: show, CanWork: canWork, CanRetry: c.retry != nil && canWork, FeedPending: counts[feed]}
	// listURL keeps the filters when one of them changes.
	listURL := func(feed, show string, before int64) string {
		q := url.Values{}
		if feed != "" {
			q.Set("feed", feed)
		}
		if show != "" {
			q.Set("show", show)
		}
		if before > 0 {
			q.Set("before", strconv.FormatInt(before, 10))
		}
		if len(q) == 0 {
			return "/deadletters"
		}
		return "/deadletters?" + q.Encode()
	}
	for _, st := range showStates {
		p.States = append(p.States, stateLink{Label: st.label, URL: listURL(feed, st.value, 0), Current: st.value == show})
	}
	for name, n := range counts {
		p.Feeds = append(p.Feeds, feedCount{Feed: name, Pending: n, URL: listURL(name, show, 0)})
	}
	slices.SortFunc(p.Feeds, func(a, b feedCount) int { return strings.Compare(a.Feed, b.Feed) })
	if len(letters) > deadLetterPageSize {
		letters = letters[:deadLetterPageSize]
		p.NextURL = listURL(feed, show, letters[len(letters)-1].ID)
	}
	for _, l := range letters {
		p.Letters = append(p.Letters, c.rowOf(v, l))
	}
	c.render(w, r, v, http.StatusOK, "deadletters", msgTitleDeadLetters, p, flashOf(r), "")
}

func (c *Console) retryDeadLetters(w http.ResponseWriter, r *http.Request, v *visit) {
	if c.retry == nil {
		c.notFound(w, r, v)
		return
	}
	ids := postedIDs(r)
	if len(ids) == 0 {
		c.problem(w, r, v, http.StatusBadRequest, msgTitleDeadLetters, msgRetryNone)
		return
	}
	c.rerun(w, r, v, ids, backToList(r))
}

// postedIDs are the dead-letter ids a list form selected.
func postedIDs(r *http.Request) []int64 {
	var ids []int64
	for _, s := range r.PostForm["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// backToList is the list a form was posted from, with its filters.
func backToList(r *http.Request) string {
	q := url.Values{}
	if feed := r.PostFormValue("feed"); feed != "" {
		q.Set("feed", feed)
	}
	if show := r.PostFormValue("show"); show == "discarded" || show == "all" {
		q.Set("show", show)
	}
	if len(q) == 0 {
		return "/deadletters"
	}
	return "/deadletters?" + q.Encode()
}

// rerun re-runs ids, audits it and returns to the page to, with a notice
// that says whether some letters still fail (each shows its reason).
func (c *Console) rerun(w http.ResponseWriter, r *http.Request, v *visit, ids []int64, to string) {
	n, err := c.retry(r.Context(), ids)
	if err != nil {
		c.fail(w, r, v, fmt.Errorf("retry dead letters %v: %w", ids, err))
		return
	}
	c.audit(r.Context(), v, "deadletter.retry", auth.TargetIDs("deadletters", ids), fmt.Sprintf("%d of %d re-run", n, len(ids)))
	done := "retry"
	if n < len(ids) {
		done = "retry-failed"
	}
	redirectDone(w, r, to, done)
}
