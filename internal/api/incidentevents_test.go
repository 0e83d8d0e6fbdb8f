package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestIncidentEvents opens an incident from events, adds one, lists them
// and tries what the API refuses.
func TestIncidentEvents(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	h := f.hashes
	res := f.postJSON("/incidents", "ana", `{"events":["`+h["phish"]+`","`+strings.ToUpper(h["rdp"])+`"],"severity":"high"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("open from events: %d %s", res.status, res.body)
	}
	checkSchema(t, "IncidentDetail", res.body)
	var opened struct {
		Tag         string `json:"tag"`
		Title       string `json:"title"`
		Type        string `json:"type"`
		Severity    string `json:"severity"`
		Observables []struct{ Kind, Value string }
	}
	if err := json.Unmarshal(res.body, &opened); err != nil {
		t.Fatal(err)
	}
	if opened.Type != "phishing" || opened.Severity != "high" || opened.Title != "phishing: http://login.notexample.be/bank (+1)" ||
		len(opened.Observables) != 4 {
		t.Errorf("opened %+v", opened)
	}

	res = f.postJSON("/incidents/"+opened.Tag+"/events", "ana", `{"events":["`+h["bot"]+`","`+h["phish"]+`"]}`)
	if res.status != http.StatusOK || string(res.body) != `{"changed":1,"of":2}`+"\n" {
		t.Errorf("add events: %d %s", res.status, res.body)
	}
	res = f.get("/incidents/"+opened.Tag+"/events?limit=2", "ana")
	checkSchema(t, "IncidentEvents", res.body)
	var page incidentEventsJSON
	if err := json.Unmarshal(res.body, &page); err != nil {
		t.Fatal(err)
	}
	if page.Total != 3 || len(page.Events) != 2 || page.Events[0].Hash != h["bot"] || page.Events[0].AddedBy != "ana" ||
		page.Events[0].Type != "infected-system" || page.Events[0].SourceIP != "203.0.113.5" {
		t.Errorf("events page %s", res.body)
	}
	if res := f.get("/incidents/"+opened.Tag+"/events?offset=2", "ana"); !strings.Contains(string(res.body), `"total":3`) ||
		strings.Count(string(res.body), `"hash"`) != 1 {
		t.Errorf("the last page: %s", res.body)
	}

	unknown := strings.Repeat("ab", 32)
	tries := []struct {
		name, method, path, body, want string
		status                         int
	}{
		{"an unknown hash", "POST", "/incidents/" + opened.Tag + "/events", `{"events":["` + unknown + `"]}`, unknown, http.StatusBadRequest},
		{"a hash that is none", "POST", "/incidents/" + opened.Tag + "/events", `{"events":["x"]}`, "not an event hash", http.StatusBadRequest},
		{"no events", "POST", "/incidents/" + opened.Tag + "/events", `{"events":[]}`, "at least one event", http.StatusBadRequest},
		{"an unknown incident", "POST", "/incidents/2026-999/events", `{"events":["` + h["bot"] + `"]}`, "", http.StatusNotFound},
		{"reports and events", "POST", "/incidents", `{"events":["` + h["bot"] + `"],"reports":[1]}`, "not from both", http.StatusBadRequest},
		{"a bad offset", "GET", "/incidents/" + opened.Tag + "/events?offset=-1", "", "offset", http.StatusBadRequest},
	}
	for _, tt := range tries {
		t.Run(tt.name, func(t *testing.T) {
			res := f.sendJSON(tt.method, tt.path, "ana", tt.body)
			if res.status != tt.status || !strings.Contains(string(res.body), tt.want) {
				t.Errorf("%d %s, want %d naming %q", res.status, res.body, tt.status, tt.want)
			}
		})
	}
	t.Run("a huge selection", func(t *testing.T) {
		list := make([]string, 1001)
		for i := range list {
			list[i] = fmt.Sprintf("%q", fmt.Sprintf("%064x", i))
		}
		res := f.postJSON("/incidents/"+opened.Tag+"/events", "ana", `{"events":[`+strings.Join(list, ",")+`]}`)
		if res.status != http.StatusBadRequest || !strings.Contains(errorMessage(t, res), "at most 1000") {
			t.Errorf("%d %s", res.status, res.body)
		}
	})
	if res := f.get("/incidents/"+opened.Tag+"/events", "ana"); !strings.Contains(string(res.body), `"total":3`) {
		t.Errorf("refused calls changed the events: %s", res.body)
	}
}
