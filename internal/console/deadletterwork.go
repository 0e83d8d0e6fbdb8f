package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// DeadLetterStore serves the page of one dead letter and what an analyst
// does with letters: edit, discard.
type DeadLetterStore interface {
	GetDeadLetter(ctx context.Context, id int64) (store.DeadLetter, error)
	EditDeadLetter(ctx context.Context, id int64, input []byte) error
	DiscardDeadLetters(ctx context.Context, ids []int64, by, reason string) (int64, error)
}

// maxDiscardReason bounds a discard's reason, which goes to the audit log.
const maxDiscardReason = 500

// Messages of the dead-letter pages chosen in Go code.
const (
	msgTitleDeadLetter      = "title.deadletter"
	msgDeadLetterReason     = "deadletters.error.reason"
	msgDeadLetterConfirm    = "deadletters.error.confirm"
	msgDeadLetterTooLong    = "deadletters.error.toolong"
	msgDeadLetterNotPending = "deadletters.error.notpending"
	msgDoneDiscard          = "done.discard"
	msgDoneRetryFailed      = "done.retry.failed"
	msgDoneEdit             = "done.edit.ok"
	msgDoneEditFailed       = "done.edit.failed"
	msgStatePending         = "deadletters.state.pending"
	msgStateRetried         = "deadletters.state.retried"
	msgStateDiscarded       = "deadletters.state.discarded"
	msgShowPending          = "deadletters.show.pending"
	msgShowDiscarded        = "deadletters.show.discarded"
	msgShowAll              = "deadletters.show.all"
)

// stateMessages names each state of a letter.
var stateMessages = map[store.DeadLetterState]string{
	store.DeadLetterPending:   msgStatePending,
	store.DeadLetterRetried:   msgStateRetried,
	store.DeadLetterDiscarded: msgStateDiscarded,
}

// The notices of the dead-letter pages join the table of notices a
// redirect may name.
func init() {
	flashes["discard"] = msgDoneDiscard
	flashes["retry-failed"] = msgDoneRetryFailed
	flashes["edit"] = msgDoneEdit
	flashes["edit-failed"] = msgDoneEditFailed
}

// deadLetterPage is the data of one letter's page.
type deadLetterPage struct {
	Letter letterRow
	Parser string
	// Edited is the corrected input a re-run reads, shown as text; Draft
	// is what the edit form holds.
	Edited   string
	Draft    string
	State    string
	CanWork  bool
	CanRetry bool
}

// letterOf reads the {id} of a letter page; ok is false (and the visitor
// answered) when there is no such letter.
func (c *Console) letterOf(w http.ResponseWriter, r *http.Request, v *visit) (store.DeadLetter, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r, v)
		return store.DeadLetter{}, false
	}
	l, err := c.store.GetDeadLetter(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, v)
		return store.DeadLetter{}, false
	}
	if err != nil {
		c.fail(w, r, v, err)
		return store.DeadLetter{}, false
	}
	return l, true
}

func (c *Console) deadLetter(w http.ResponseWriter, r *http.Request, v *visit) {
	l, ok := c.letterOf(w, r, v)
	if !ok {
		return
	}
	c.renderLetter(w, r, v, l, http.StatusOK, nil, "")
}

// renderLetter shows letter l; draft, when set, is what the edit form
// holds (a refused edit is given back), and problem a message id.
func (c *Console) renderLetter(w http.ResponseWriter, r *http.Request, v *visit, l store.DeadLetter, status int, draft []byte, problem string) {
	canWork := auth.Can(v.user.Role, auth.RetryDeadLetters)
	p := deadLetterPage{Letter: c.rowOf(v, l), Parser: l.Parser, CanWork: canWork && l.Pending(),
		CanRetry: canWork && l.Pending() && c.retry != nil, State: stateMessages[l.State()]}
	p.Letter.Input, p.Letter.Truncated = shownInput(l.Input)
	if l.Edited != nil {
		p.Edited, _ = shownInput(l.Edited)
	}
	switch {
	case draft != nil:
		p.Draft = strings.ToValidUTF8(string(draft), "\uFFFD")
	case l.Edited != nil:
		p.Draft = strings.ToValidUTF8(string(l.Edited), "\uFFFD")
	default:
		p.Draft = strings.ToValidUTF8(string(l.Input), "\uFFFD")
	}
	c.render(w, r, v, status, "deadletter", msgTitleDeadLetter, p, flashOf(r), problem)
}

// editDeadLetter stores the corrected input of a pending letter and
// re-runs it.
func (c *Console) editDeadLetter(w http.ResponseWriter, r *http.Request, v *visit) {
	if c.retry == nil {
		c.notFound(w, r, v)
		return
	}
	l, ok := c.letterOf(w, r, v)
	if !ok {
		return
	}
	input := []byte(strings.ReplaceAll(r.PostFormValue("input"), "\r\n", "\n"))
	if len(input) > store.MaxEditedDeadLetter {
		c.renderLetter(w, r, v, l, http.StatusBadRequest, input[:store.MaxEditedDeadLetter], msgDeadLetterTooLong)
		return
	}
	err := c.store.EditDeadLetter(r.Context(), l.ID, input)
	if errors.Is(err, store.ErrNotFound) {
		c.renderLetter(w, r, v, l, http.StatusConflict, nil, msgDeadLetterNotPending)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	n, err := c.retry(r.Context(), []int64{l.ID})
	if err != nil {
		c.fail(w, r, v, fmt.Errorf("retry edited dead letter %d: %w", l.ID, err))
		return
	}
	c.audit(r.Context(), v, "deadletter.edit", auth.TargetIDs("deadletters", []int64{l.ID}), fmt.Sprintf("input edited (%d bytes), re-run: %d became events", len(input), n))
	done := "edit"
	if n == 0 {
		done = "edit-failed"
	}
	redirectDone(w, r, "/deadletters/"+strconv.FormatInt(l.ID, 10), done)
}

// discardDeadLetters sets the selected letters aside, with a reason and a
// confirmation, from the list or from a letter's page.
func (c *Console) discardDeadLetters(w http.ResponseWriter, r *http.Request, v *visit) {
	ids := postedIDs(r)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	switch {
	case len(ids) == 0:
		c.problem(w, r, v, http.StatusBadRequest, msgTitleDeadLetters, msgRetryNone)
		return
	case reason == "" || len(reason) > maxDiscardReason:
		c.problem(w, r, v, http.StatusBadRequest, msgTitleDeadLetters, msgDeadLetterReason)
		return
	case r.PostFormValue("confirm") != "yes":
		c.problem(w, r, v, http.StatusBadRequest, msgTitleDeadLetters, msgDeadLetterConfirm)
		return
	}
	n, err := c.store.DiscardDeadLetters(r.Context(), ids, v.user.Name, reason)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.audit(r.Context(), v, "deadletter.discard", auth.TargetIDs("deadletters", ids), fmt.Sprintf("%d of %d discarded: %s", n, len(ids), reason))
	to := backToList(r)
	if len(ids) == 1 && r.PostFormValue("from") == "letter" {
		to = "/deadletters/" + strconv.FormatInt(ids[0], 10)
	}
	redirectDone(w, r, to, "discard")
}

// retryFeed re-runs every pending letter of a feed (after a parser change).
func (c *Console) retryFeed(w http.ResponseWriter, r *http.Request, v *visit) {
	if c.retry == nil {
		c.notFound(w, r, v)
		return
	}
	feed := r.PostFormValue("feed")
	if feed == "" {
		c.problem(w, r, v, http.StatusBadRequest, msgTitleDeadLetters, msgRetryNone)
		return
	}
	ids, err := pipeline.PendingDeadLetterIDs(r.Context(), c.store, feed, pipeline.MaxRetryFeed)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if len(ids) == 0 {
		c.problem(w, r, v, http.StatusBadRequest, msgTitleDeadLetters, msgRetryNone)
		return
	}
	c.rerun(w, r, v, ids, backToList(r))
}
