package console

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

// The forms of an incident's page. Each runs one operation of
// incident.Service, which writes the change, its timeline line and its
// audit entry.

func (c *Console) transitionIncident(r *http.Request, v *visit, inc incident.Incident) (string, error) {
	to := incident.Status(r.PostFormValue("status"))
	if !to.Valid() {
		return "", refuse("incident.error.status", r.PostFormValue("status"))
	}
	_, err := c.cases().Transition(r.Context(), actorOf(v), inc.ID, to, strings.TrimSpace(r.PostFormValue("reason")))
	return "incident-status", err
}

// assignIncident gives the incident to the visitor ("me"), to another
// account that may handle incidents, or to nobody ("").
func (c *Console) assignIncident(r *http.Request, v *visit, inc incident.Incident) (string, error) {
	who := r.PostFormValue("assignee")
	if who == "" {
		_, err := c.cases().Assign(r.Context(), actorOf(v), inc.ID, 0, "")
		return "incident-assigned", err
	}
	id := v.user.ID
	if who != "me" {
		var err error
		if id, err = strconv.ParseInt(who, 10, 64); err != nil {
			return "", refuse(msgIncidentBadUser)
		}
	}
	users, err := c.handlers(r.Context())
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(users, func(u auth.User) bool { return u.ID == id })
	if i < 0 {
		return "", refuse(msgIncidentBadUser)
	}
	_, err = c.cases().Assign(r.Context(), actorOf(v), inc.ID, id, users[i].Name)
	return "incident-assigned", err
}

// changeIncident changes the labels, severity, title, impact and the
// organisations concerned; fields the form leaves as they were are not
// changed (the service writes a line only for those that changed).
func (c *Console) changeIncident(r *http.Request, v *visit, inc incident.Incident) (string, error) {
	var ch incident.Change
	if s := incident.Severity(r.PostFormValue("severity")); s != "" && s != inc.Severity {
		ch.Severity = &s
	}
	if t := incident.TLP(r.PostFormValue("tlp")); t != "" && t != inc.TLP {
		ch.TLP = &t
	}
	if p := incident.PAP(r.PostFormValue("pap")); p != "" && p != inc.PAP {
		ch.PAP = &p
	}
	if t := strings.TrimSpace(r.PostFormValue("title")); t != inc.Title && r.PostForm.Has("title") {
		ch.Title = &t
	}
	if t := strings.TrimSpace(r.PostFormValue("impact")); t != inc.Impact && r.PostForm.Has("impact") {
		ch.Impact = &t
	}
	if r.PostForm.Has("orgs-shown") {
		var ids []int64
		for _, s := range r.PostForm["org"] {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id <= 0 {
				return "", refuse(msgIncidentBadInput)
			}
			ids = append(ids, id)
		}
		slices.Sort(ids)
		old := slices.Sorted(slices.Values(inc.OrgIDs))
		if !slices.Equal(ids, old) {
			ch.OrgIDs = &ids
		}
	}
	_, err := c.cases().Update(r.Context(), actorOf(v), inc.ID, ch)
	return "incident-changed", err
}

// addPlaybook adds the steps of the incident's playbook that are not
// tasks of it yet, titled in the visitor's language.
func (c *Console) addPlaybook(r *http.Request, v *visit, inc incident.Incident) (string, error) {
	tasks, err := c.store.Tasks(r.Context(), inc.ID)
	if err != nil {
		return "", err
	}
	pb := incident.PlaybookFor(inc.Kind, inc.Type)
	var steps []string
	for _, s := range pb.Steps {
		if !slices.ContainsFunc(tasks, func(t incident.Task) bool { return t.Step == s }) {
			steps = append(steps, s)
		}
	}
	if len(steps) == 0 {
		return "incident-tasks", nil
	}
	_, err = c.cases().AddPlaybookTasks(r.Context(), actorOf(v), inc.ID, v.lang, steps...)
	return "incident-tasks", err
}

func (c *Console) completeTask(r *http.Request, v *visit, inc incident.Incident) (string, error) {
	id, err := strconv.ParseInt(r.PathValue("task"), 10, 64)
	if err != nil || id <= 0 {
		return "", refuse(msgIncidentBadInput)
	}
	_, err = c.cases().CompleteTask(r.Context(), actorOf(v), inc.ID, id)
	return "incident-task", err
}

func (c *Console) addIncidentNote(r *http.Request, v *visit, inc incident.Incident) (string, error) {
	_, err := c.cases().AddNote(r.Context(), actorOf(v), inc.ID, strings.TrimSpace(r.PostFormValue("note")))
	return "incident-note", err
}

// mergeIncident merges this incident into the one of the tag typed, which
// survives it; the answer is the survivor's page.
func (c *Console) mergeIncident(r *http.Request, v *visit, inc incident.Incident) (string, error) {
	typed := strings.TrimSpace(r.PostFormValue("into"))
	tag, err := incident.ParseTag(typed)
	if err != nil {
		return "", refuse(msgIncidentBadTag, typed)
	}
	into, err := c.store.GetIncidentByTag(r.Context(), tag)
	if errors.Is(err, store.ErrNotFound) {
		return "", refuse(msgIncidentBadTag, typed)
	} else if err != nil {
		return "", err
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		return "", refuse(msgIncidentMergeReason)
	}
	if err := c.cases().Merge(r.Context(), actorOf(v), into.ID, inc.ID, reason); err != nil {
		return "", err
	}
	return "/incidents/" + into.Tag.String() + "?done=incident-merged", nil
}
