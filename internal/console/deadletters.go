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
	Feed     string
	Feeds    []feedCount
	Letters  []letterRow
	CanRetry bool
	NextURL  string
}

type feedCount struct {
	Feed    string
	Pending int64
	URL     string
}

type letterRow struct {
	ID        int64
	Feed      string
	Parser    string
	Error     string
	Input     string
	Truncated bool
	Time      time.Time
	Retried   bool
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
	feed := strings.TrimSpace(r.URL.Query().Get("feed"))
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	counts, err := c.store.CountDeadLetters(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	letters, err := c.store.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: feed, Limit: deadLetterPageSize + 1, BeforeID: before})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := deadLettersPage{Feed: feed, CanRetry: c.retry != nil && auth.Can(v.user.Role, auth.RetryDeadLetters)}
	for name, n := range counts {
		p.Feeds = append(p.Feeds, feedCount{Feed: name, Pending: n, URL: "/deadletters?feed=" + url.QueryEscape(name)})
	}
	slices.SortFunc(p.Feeds, func(a, b feedCount) int { return strings.Compare(a.Feed, b.Feed) })
	if len(letters) > deadLetterPageSize {
		letters = letters[:deadLetterPageSize]
		q := url.Values{"before": {strconv.FormatInt(letters[len(letters)-1].ID, 10)}}
		if feed != "" {
			q.Set("feed", feed)
		}
		p.NextURL = "/deadletters?" + q.Encode()
	}
	for _, l := range letters {
		in, cut := shownInput(l.Input)
		p.Letters = append(p.Letters, letterRow{ID: l.ID, Feed: l.Feed, Parser: l.Parser, Error: l.Error, Input: in, Truncated: cut, Time: l.Time, Retried: l.Retried})
	}
	c.render(w, r, v, http.StatusOK, "deadletters", msgTitleDeadLetters, p, flashOf(r), "")
}

func (c *Console) retryDeadLetters(w http.ResponseWriter, r *http.Request, v *visit) {
	if c.retry == nil {
		c.notFound(w, r, v)
		return
	}
	var ids []int64
	for _, s := range r.PostForm["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		c.problem(w, r, v, http.StatusBadRequest, msgTitleDeadLetters, msgRetryNone)
		return
	}
	n, err := c.retry(r.Context(), ids)
	if err != nil {
		c.fail(w, r, v, fmt.Errorf("retry dead letters %v: %w", ids, err))
		return
	}
	c.audit(r.Context(), v, "deadletter.retry", fmt.Sprint(ids), fmt.Sprintf("%d of %d re-run", n, len(ids)))
	to := "/deadletters"
	if feed := r.PostFormValue("feed"); feed != "" {
		to += "?feed=" + url.QueryEscape(feed)
	}
	redirectDone(w, r, to, "retry")
}
