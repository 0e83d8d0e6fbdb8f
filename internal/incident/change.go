package incident

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// Change is a change of an incident's fields; nil fields stay as they
// are. Classification sets the taxonomy and type together.
type Change struct {
	Title    *string
	Type     *string // RSIT type; its taxonomy follows
	TLP      *TLP
	PAP      *PAP
	Severity *Severity
	Impact   *string
	OrgIDs   *[]int64
	// Due sets the due time by hand; a change of severity without it
	// sets the due time the SLA gives from the creation.
	Due *time.Time
}

// Update changes an incident's fields, one timeline entry a field that
// changed (with the old and the new value).
func (s *Service) Update(ctx context.Context, a Actor, id int64, c Change) (Incident, error) {
	at := s.now()
	var fields []string
	inc, err := s.Store.ChangeIncident(ctx, id, func(inc *Incident) ([]Entry, error) {
		before := *inc
		before.OrgIDs = slices.Clone(inc.OrgIDs)
		applyChange(inc, c, s.sla())
		if err := CheckIncident(inc); err != nil {
			return nil, err
		}
		entries := fieldEntries(&before, inc, at, a.Name)
		if len(entries) > 0 {
			inc.Updated = at
		}
		for _, e := range entries {
			fields = append(fields, e.Details["field"])
		}
		return entries, nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("update incident: %w", err)
	}
	if len(fields) == 0 {
		return inc, nil
	}
	return inc, s.audit(ctx, a, "incident.update", id, strings.Join(fields, ", "))
}

func applyChange(inc *Incident, c Change, sla SLA) {
	if c.Title != nil {
		inc.Title = strings.TrimSpace(*c.Title)
	}
	if c.Type != nil {
		inc.Type = *c.Type
		inc.Taxonomy, _ = taxonomy.TaxonomyOf(*c.Type)
	}
	if c.TLP != nil {
		inc.TLP = *c.TLP
	}
	if c.PAP != nil {
		inc.PAP = *c.PAP
	}
	if c.Severity != nil && *c.Severity != inc.Severity {
		inc.Severity = *c.Severity
		inc.Due = sla.Due(inc.Severity, inc.Created)
	}
	if c.Impact != nil {
		inc.Impact = *c.Impact
	}
	if c.OrgIDs != nil {
		inc.OrgIDs = sortedUnique(slices.Clone(*c.OrgIDs))
	}
	if c.Due != nil {
		inc.Due = c.Due.UTC().Truncate(time.Microsecond)
	}
}

// fieldEntries says, one entry a field, what changed from before to
// after.
func fieldEntries(before, after *Incident, at time.Time, actor string) []Entry {
	var out []Entry
	add := func(field, from, to string) {
		if from != to {
			out = append(out, Entry{IncidentID: after.ID, At: at, Actor: actor, Kind: EntryField,
				Details: map[string]string{"field": field, "from": from, "to": to}})
		}
	}
	add("title", before.Title, after.Title)
	add("classification", before.Taxonomy+"/"+before.Type, after.Taxonomy+"/"+after.Type)
	add("tlp", string(before.TLP), string(after.TLP))
	add("pap", string(before.PAP), string(after.PAP))
	add("severity", string(before.Severity), string(after.Severity))
	add("impact", before.Impact, after.Impact)
	add("organisations", joinIDs(before.OrgIDs), joinIDs(after.OrgIDs))
	add("due", formatTime(before.Due), formatTime(after.Due))
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Assign gives an incident to an account (0: to nobody); name is the
// account's name, for the timeline.
func (s *Service) Assign(ctx context.Context, a Actor, id, assigneeID int64, name string) (Incident, error) {
	at := s.now()
	inc, err := s.Store.ChangeIncident(ctx, id, func(inc *Incident) ([]Entry, error) {
		if inc.AssigneeID == assigneeID {
			return nil, nil
		}
		e := Entry{IncidentID: id, At: at, Actor: a.Name, Kind: EntryAssigned, Text: name,
			Details: map[string]string{"from": inc.Assignee, "to": name, "to_id": strconv.FormatInt(assigneeID, 10)}}
		inc.AssigneeID, inc.Assignee, inc.Updated = assigneeID, name, at
		return []Entry{e}, nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("assign incident: %w", err)
	}
	return inc, s.audit(ctx, a, "incident.assign", id, "to "+cmpName(name))
}

func cmpName(name string) string {
	if name == "" {
		return "nobody"
	}
	return name
}

// Transition moves an incident to another status, with a reason where
// the workflow asks for one (CheckTransition). Closing stamps the closing
// time; reopening clears it.
func (s *Service) Transition(ctx context.Context, a Actor, id int64, to Status, reason string) (Incident, error) {
	at := s.now()
	reason = strings.TrimSpace(reason)
	var from Status
	inc, err := s.Store.ChangeIncident(ctx, id, func(inc *Incident) ([]Entry, error) {
		from = inc.Status
		if inc.MergedInto != 0 {
			return nil, inputError("incident.error.merged", inc.MergedInto)
		}
		if err := CheckTransition(inc.Status, to, reason); err != nil {
			return nil, err
		}
		inc.Status, inc.StatusReason, inc.Updated = to, reason, at
		if to == StatusClosed {
			inc.Closed = at
		} else {
			inc.Closed = time.Time{}
		}
		return []Entry{{IncidentID: id, At: at, Actor: a.Name, Kind: EntryStatus, Text: reason,
			Details: map[string]string{"from": string(from), "to": string(to)}}}, nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("change status: %w", err)
	}
	return inc, s.audit(ctx, a, "incident.status", id, fmt.Sprintf("%s → %s: %s", from, to, reason))
}

// AddPlaybookTasks adds steps of the incident's playbook (PlaybookFor)
// as tasks, their titles in lang; no steps adds the whole playbook.
func (s *Service) AddPlaybookTasks(ctx context.Context, a Actor, incidentID int64, lang string, steps ...string) ([]Task, error) {
	inc, err := s.Store.GetIncident(ctx, incidentID)
	if err != nil {
		return nil, fmt.Errorf("add tasks: %w", err)
	}
	pb := PlaybookFor(inc.Kind, inc.Type)
	if len(steps) == 0 {
		steps = pb.Steps
	}
	tasks := make([]Task, 0, len(steps))
	for _, step := range steps {
		if !pb.Has(step) {
			return nil, fmt.Errorf("add tasks: %w", inputError("incident.error.task.step", step, pb.Name))
		}
		tasks = append(tasks, Task{Title: s.text(lang, TaskKey(step)), Playbook: pb.Name, Step: step})
	}
	return s.addTasks(ctx, a, incidentID, tasks)
}

// AddTask adds a task written by hand.
func (s *Service) AddTask(ctx context.Context, a Actor, incidentID int64, title string) (Task, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		return Task{}, fmt.Errorf("add task: %w", inputError("incident.error.task.title"))
	}
	if err := checkText("title", title, MaxFieldBytes); err != nil {
		return Task{}, fmt.Errorf("add task: %w", err)
	}
	tasks, err := s.addTasks(ctx, a, incidentID, []Task{{Title: title}})
	if err != nil {
		return Task{}, err
	}
	return tasks[0], nil
}

func (s *Service) addTasks(ctx context.Context, a Actor, incidentID int64, tasks []Task) ([]Task, error) {
	at := s.now()
	entries := make([]Entry, len(tasks))
	titles := make([]string, len(tasks))
	for i := range tasks {
		tasks[i].IncidentID, tasks[i].Created = incidentID, at
		entries[i] = Entry{IncidentID: incidentID, At: at, Actor: a.Name, Kind: EntryTaskAdded, Text: tasks[i].Title,
			Details: map[string]string{"playbook": tasks[i].Playbook, "step": tasks[i].Step}}
		titles[i] = tasks[i].Title
	}
	if err := s.Store.AddTasks(ctx, incidentID, tasks, entries); err != nil {
		return nil, fmt.Errorf("add tasks: %w", err)
	}
	return tasks, s.audit(ctx, a, "incident.task.add", incidentID, strings.Join(titles, "; "))
}

// CompleteTask marks a task of an incident done.
func (s *Service) CompleteTask(ctx context.Context, a Actor, incidentID, taskID int64) (Task, error) {
	e := Entry{IncidentID: incidentID, At: s.now(), Actor: a.Name, Kind: EntryTaskDone,
		Details: map[string]string{"task": strconv.FormatInt(taskID, 10)}}
	t, err := s.Store.CompleteTask(ctx, incidentID, taskID, e)
	if err != nil {
		return Task{}, fmt.Errorf("complete task: %w", err)
	}
	return t, s.audit(ctx, a, "incident.task.done", incidentID, t.Title)
}
