package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
)

// transitionInput is the body of POST /incidents/{tag}/transition.
type transitionInput struct {
	Status incident.Status `json:"status"`
	Reason string          `json:"reason"`
}

func (h *handler) transitionIncident(r *http.Request, c *caller) (any, error) {
	inc, err := h.incidentAction(r)
	if err != nil {
		return nil, err
	}
	var in transitionInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if !in.Status.Valid() {
		return nil, badParameterText("status", i18n.M("api.error.incident.choice", "status", names(incident.Statuses)))
	}
	if inc, err = h.service(c).Transition(r.Context(), actorOf(c), inc.ID, in.Status, in.Reason); err != nil {
		return nil, err
	}
	return toIncidentJSON(inc, time.Now()), nil
}

// taskInput is the body of POST /incidents/{tag}/tasks: a title written
// by hand, or playbook true for the incident's playbook (its steps, or
// all of them).
type taskInput struct {
	Title    string   `json:"title"`
	Playbook bool     `json:"playbook"`
	Steps    []string `json:"steps"`
}

// taskListJSON is the tasks a request added.
type taskListJSON struct {
	Tasks []taskJSON `json:"tasks"`
}

func (h *handler) addIncidentTasks(r *http.Request, c *caller) (any, error) {
	inc, err := h.incidentAction(r)
	if err != nil {
		return nil, err
	}
	var in taskInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	ctx, svc := r.Context(), h.service(c)
	var tasks []incident.Task
	switch {
	case in.Playbook && in.Title != "":
		return nil, badParameterText("title", i18n.M("api.error.incident.task.both"))
	case in.Playbook:
		// The titles are in the caller's language, as the console's.
		if tasks, err = svc.AddPlaybookTasks(ctx, actorOf(c), inc.ID, h.language(r, c), in.Steps...); err != nil {
			return nil, err
		}
	case len(in.Steps) > 0:
		return nil, badParameterText("steps", i18n.M("api.error.incident.task.steps"))
	default:
		t, err := svc.AddTask(ctx, actorOf(c), inc.ID, in.Title)
		if err != nil {
			return nil, err
		}
		tasks = []incident.Task{t}
	}
	out := taskListJSON{Tasks: []taskJSON{}}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, toTaskJSON(t))
	}
	return created{location: "/api/v1/incidents/" + inc.Tag.String(), value: out}, nil
}

// language is the caller's language: the account's, or the request's.
func (h *handler) language(r *http.Request, c *caller) string {
	cat, err := catalogue()
	if err != nil {
		return i18n.Source
	}
	if c.user.Language != "" && cat.Supported(c.user.Language) {
		return c.user.Language
	}
	return cat.Match(r.Header.Get("Accept-Language"))
}

func (h *handler) completeIncidentTask(r *http.Request, c *caller) (any, error) {
	inc, err := h.incidentAction(r)
	if err != nil {
		return nil, err
	}
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	t, err := h.service(c).CompleteTask(r.Context(), actorOf(c), inc.ID, id)
	if err != nil {
		return nil, notFoundAs(err, "api.error.incident.task.notfound", "complete task")
	}
	return toTaskJSON(t), nil
}

// noteInput is the body of POST /incidents/{tag}/notes.
type noteInput struct {
	Text string `json:"text"`
}

func (h *handler) addIncidentNote(r *http.Request, c *caller) (any, error) {
	inc, err := h.incidentAction(r)
	if err != nil {
		return nil, err
	}
	var in noteInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	e, err := h.service(c).AddNote(r.Context(), actorOf(c), inc.ID, in.Text)
	if err != nil {
		return nil, err
	}
	return created{location: "/api/v1/incidents/" + inc.Tag.String(), value: toEntryJSON(e)}, nil
}

// mergeInput is the body of POST /incidents/{tag}/merge: the tags of the
// incidents merged into the one of the path.
type mergeInput struct {
	From   []string `json:"from"`
	Reason string   `json:"reason"`
}

func (h *handler) mergeIncidents(r *http.Request, c *caller) (any, error) {
	survivor, err := h.incidentAction(r)
	if err != nil {
		return nil, err
	}
	var in mergeInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if len(in.From) == 0 || len(in.From) > maxReportIDs {
		return nil, badParameterText("from", i18n.M("api.error.incident.from"))
	}
	ctx := r.Context()
	var others []incident.Incident
	for _, s := range in.From {
		tag, err := incident.ParseTag(strings.TrimSpace(s))
		if err != nil {
			return nil, badParameterText("from", i18n.M("api.error.incident.tag", "from", s))
		}
		other, err := h.store.GetIncidentByTag(ctx, tag)
		if err != nil {
			return nil, notFoundAs(err, "api.error.incident.notfound", "get incident "+tag.String())
		}
		others = append(others, other)
	}
	svc := h.service(c)
	for _, other := range others {
		if err := svc.Merge(ctx, actorOf(c), survivor.ID, other.ID, in.Reason); err != nil {
			return nil, err
		}
	}
	inc, err := h.store.GetIncident(ctx, survivor.ID)
	if err != nil {
		return nil, err
	}
	return toIncidentJSON(inc, time.Now()), nil
}

// linkInput is the body of POST /incidents/{tag}/reports.
type linkInput struct {
	IDs []int64 `json:"ids"`
}

func (h *handler) linkIncidentReports(r *http.Request, c *caller) (any, error) {
	inc, err := h.incidentAction(r)
	if err != nil {
		return nil, err
	}
	var in linkInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if err := checkIDs(in.IDs, "ids"); err != nil {
		return nil, err
	}
	n, err := h.service(c).LinkReports(r.Context(), actorOf(c), inc.ID, in.IDs)
	if err != nil {
		return nil, notFoundAs(err, "api.error.report.notfound", "link reports to "+inc.Tag.String())
	}
	return countJSON{Changed: n, Of: len(in.IDs)}, nil
}

// incidentAction checks that an action's query string is empty and loads
// the incident of its path.
func (h *handler) incidentAction(r *http.Request) (incident.Incident, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return incident.Incident{}, err
	}
	return h.pathIncident(r)
}
