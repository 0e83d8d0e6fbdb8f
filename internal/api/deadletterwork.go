package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// maxDiscardReason bounds the reason of a discard, which goes to the
// audit log.
const maxDiscardReason = 500

func (h *handler) getDeadLetter(r *http.Request, c *caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	l, err := h.store.GetDeadLetter(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.deadletter.notfound"))
	}
	if err != nil {
		return nil, fmt.Errorf("get dead letter: %w", err)
	}
	return letterJSON(l, requestLanguage(r)), nil
}

type discardRequest struct {
	IDs    []int64 `json:"ids"`
	Reason string  `json:"reason"`
}

type discardResponse struct {
	// Discarded is how many of the letters were pending and are now
	// discarded.
	Discarded int64 `json:"discarded"`
}

func (h *handler) discardDeadLetters(r *http.Request, c *caller) (any, error) {
	var req discardRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	switch {
	case len(req.IDs) == 0:
		return nil, badParameterText("ids", i18n.M("api.error.deadletter.noids"))
	case len(req.IDs) > maxRetryIDs:
		return nil, badParameterText("ids", i18n.M("api.error.deadletter.manyids", maxRetryIDs))
	case strings.TrimSpace(req.Reason) == "":
		return nil, badParameterText("reason", i18n.M("api.error.deadletter.reason"))
	case len(req.Reason) > maxDiscardReason:
		return nil, badParameterText("reason", i18n.M("api.error.deadletter.reasonlong", maxDiscardReason))
	}
	for _, id := range req.IDs {
		if id < 1 {
			return nil, badParameterText("ids", i18n.M("api.error.deadletter.badids"))
		}
	}
	n, err := h.store.DiscardDeadLetters(r.Context(), req.IDs, c.user.Name, req.Reason)
	if err != nil {
		return nil, fmt.Errorf("discard dead letters: %w", err)
	}
	if err := h.store.AddAudit(context.WithoutCancel(r.Context()), auth.AuditEntry{
		Time: time.Now().UTC(), UserID: c.user.ID, Actor: c.user.Name, Action: "deadletter.discard",
		Target: auth.TargetIDs("deadletters", req.IDs),
		Detail: fmt.Sprintf("%d of %d discarded (API token %d): %s", n, len(req.IDs), c.token.ID, req.Reason),
	}); err != nil {
		return nil, fmt.Errorf("audit dead letter discard: %w", err)
	}
	return discardResponse{Discarded: n}, nil
}

type editRequest struct {
	Input *string `json:"input"`
}

type editResponse struct {
	// Retried says whether the edited letter became events.
	Retried bool `json:"retried"`
	// Error says why it still fails, when it does, in English, and
	// Reason in the request's language.
	Error      string         `json:"error,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	DeadLetter deadLetterJSON `json:"dead_letter"`
}

// editDeadLetter replaces a pending letter's input and re-runs it.
func (h *handler) editDeadLetter(r *http.Request, c *caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var req editRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Input == nil {
		return nil, badParameterText("input", i18n.M("api.error.deadletter.input"))
	}
	if len(*req.Input) > store.MaxEditedDeadLetter {
		return nil, badParameterText("input", i18n.M("api.error.deadletter.inputlarge", len(*req.Input), store.MaxEditedDeadLetter))
	}
	if h.retry == nil {
		return nil, errNoPipeline
	}
	err = h.store.EditDeadLetter(r.Context(), id, []byte(*req.Input))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.deadletter.notpending"))
	}
	if err != nil {
		return nil, fmt.Errorf("edit dead letter: %w", err)
	}
	results, err := h.retry(r.Context(), []int64{id})
	n, failed := retryOutcome(results, requestLanguage(r))
	entry := auth.AuditEntry{Time: time.Now().UTC(), UserID: c.user.ID, Actor: c.user.Name, Action: "deadletter.edit",
		Target: auth.TargetIDs("deadletters", []int64{id}), Detail: fmt.Sprintf("input edited (%d bytes), re-run: %d became events (API token %d)", len(*req.Input), n, c.token.ID)}
	if err != nil {
		entry.Detail = fmt.Sprintf("input edited (%d bytes), re-run failed (API token %d): %v", len(*req.Input), c.token.ID, err)
	}
	if aerr := h.store.AddAudit(context.WithoutCancel(r.Context()), entry); aerr != nil {
		return nil, errors.Join(fmt.Errorf("audit dead letter edit: %w", aerr), err)
	}
	if err != nil {
		return nil, fmt.Errorf("retry edited dead letter: %w", err)
	}
	// The letter is read for the response only: what the re-run made of
	// it, it said.
	l, err := h.store.GetDeadLetter(r.Context(), id)
	if err != nil {
		return nil, fmt.Errorf("read edited dead letter: %w", err)
	}
	resp := editResponse{Retried: n == 1, DeadLetter: letterJSON(l, requestLanguage(r))}
	if len(failed) == 1 {
		resp.Error, resp.Reason = failed[0].Error, failed[0].Reason
	}
	return resp, nil
}
