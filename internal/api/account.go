package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// feedJSON is one feed's running totals and its last run, with the
// report types it brought.
type feedJSON struct {
	Name string `json:"name"`
	feedCountsJSON
	// PendingDeadLetters are those not yet re-run successfully.
	PendingDeadLetters int64            `json:"pending_dead_letters"`
	Reports            []feedReportJSON `json:"reports,omitempty"`
}

// feedReportJSON is one report type's totals within a feed.
type feedReportJSON struct {
	Report string `json:"report"`
	feedCountsJSON
}

// feedCountsJSON are the totals and last run of a feed or of one of its
// report types.
type feedCountsJSON struct {
	LinesRead   int64      `json:"lines_read"`
	EventsOut   int64      `json:"events_out"`
	DeadLetters int64      `json:"dead_letters"`
	Duplicates  int64      `json:"duplicates"`
	Warnings    int64      `json:"warnings"`
	LastRun     *time.Time `json:"last_run,omitempty"`
	// LastError is why the last run failed, in English, for programs;
	// LastReason says it in the caller's language.
	LastError  string     `json:"last_error,omitempty"`
	LastReason string     `json:"last_reason,omitempty"`
	LastEvent  *time.Time `json:"last_event,omitempty"`
}

// countsJSON is the JSON form of f, its last error said in lang too.
func countsJSON(f store.FeedStatus, lang string) feedCountsJSON {
	return feedCountsJSON{
		LinesRead:   f.LinesRead,
		EventsOut:   f.EventsOut,
		DeadLetters: f.DeadLetters,
		Duplicates:  f.Duplicates,
		Warnings:    f.Warnings,
		LastRun:     optionalTime(f.LastRun),
		LastError:   f.LastError,
		LastReason:  f.LastReason(i18n.Embedded(), lang),
		LastEvent:   optionalTime(f.LastEvent),
	}
}

func (h *handler) listFeeds(r *http.Request, _ *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	ctx := r.Context()
	rows, err := h.store.ListFeedStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	pending, err := h.store.CountDeadLetters(ctx)
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	feeds := store.SumFeeds(rows)
	lang := requestLanguage(r)
	out := struct {
		Feeds []feedJSON `json:"feeds"`
	}{Feeds: make([]feedJSON, len(feeds))}
	for i, f := range feeds {
		fj := feedJSON{Name: f.Name, feedCountsJSON: countsJSON(f.FeedStatus, lang), PendingDeadLetters: pending[f.Name]}
		for _, rep := range f.Reports {
			fj.Reports = append(fj.Reports, feedReportJSON{Report: rep.Report, feedCountsJSON: countsJSON(rep, lang)})
		}
		out.Feeds[i] = fj
	}
	return out, nil
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

type meJSON struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Email    string    `json:"email"`
	Role     string    `json:"role"`
	Language string    `json:"language"`
	Token    tokenJSON `json:"token"`
}

// tokenJSON describes the token of the request, never its secret.
type tokenJSON struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used,omitempty"`
}

func (h *handler) me(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	u, t := c.user, c.token
	return meJSON{
		ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role), Language: u.Language,
		Token: tokenJSON{ID: t.ID, Name: t.Name, Created: t.Created.UTC(), LastUsed: optionalTime(t.LastUsed)},
	}, nil
}
