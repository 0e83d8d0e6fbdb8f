package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

// The console's calls of publication.Service, in one place: the pages
// decide which buttons to show, the service decides what is allowed.

func pubActor(v *visit) publication.Actor {
	return publication.Actor{UserID: v.user.ID, Name: v.user.Name}
}

// editPublication saves content as the publication's (or, once it is
// published, its next revision's, with the change note).
func (c *Console) editPublication(r *http.Request, v *visit, svc *publication.Service, id int64, content publication.Content, note string) (publication.Publication, error) {
	return svc.Edit(r.Context(), pubActor(v), id, content, note)
}

// runPublicationAction runs a workflow action with the reason or the
// time its form gives.
func (c *Console) runPublicationAction(r *http.Request, v *visit, svc *publication.Service, id int64, action string) error {
	ctx, a := r.Context(), pubActor(v)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	var err error
	switch action {
	case publication.ActionSubmit:
		_, err = svc.Submit(ctx, a, id)
	case publication.ActionReject:
		if reason == "" {
			return publication.Refuse("reason", "publications.error.reason")
		}
		_, err = svc.Reject(ctx, a, id, reason)
	case publication.ActionApprove:
		_, err = svc.Approve(ctx, a, id)
	case publication.ActionSchedule:
		at, perr := time.ParseInLocation(pinLayout, strings.TrimSpace(r.PostFormValue("at")), time.UTC)
		if perr != nil {
			return publication.Refuse("at", "publications.error.time", r.PostFormValue("at"))
		}
		_, err = svc.Schedule(ctx, a, id, at)
	case publication.ActionPublish:
		_, err = svc.Publish(ctx, a, id)
	case publication.ActionWithdraw:
		if reason == "" {
			return publication.Refuse("reason", "publications.error.reason")
		}
		_, err = svc.Withdraw(ctx, a, id, reason)
	}
	return err
}

// createDraft stores p as a new draft by the visitor.
func (c *Console) createDraft(r *http.Request, v *visit, svc *publication.Service, p publication.Publication) (publication.Publication, error) {
	return svc.Create(r.Context(), pubActor(v), p.Kind, p.Content, p.Source)
}
