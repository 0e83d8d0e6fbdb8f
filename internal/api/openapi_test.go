package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
)

// openAPIDoc is the parts of the document the tests read.
type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Servers  []struct{ URL string } `json:"servers"`
	Security []map[string][]string  `json:"security"`
	Paths    map[string]map[string]struct {
		OperationID string            `json:"operationId"`
		Parameters  []json.RawMessage `json:"parameters"`
		RequestBody json.RawMessage   `json:"requestBody"`
		Security    *[]any            `json:"security"`
		Responses   map[string]any    `json:"responses"`
	} `json:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
		Parameters map[string]parameter `json:"parameters"`
		Schemas    map[string]any       `json:"schemas"`
	} `json:"components"`
}

type parameter struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

func loadDoc(t *testing.T, b []byte) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc
}

// params resolves an operation's parameters to "in:name".
func (d openAPIDoc) params(t *testing.T, raw []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, r := range raw {
		var p parameter
		if err := json.Unmarshal(r, &p); err != nil {
			t.Fatal(err)
		}
		if p.Ref != "" {
			name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
			if !ok {
				t.Fatalf("parameter $ref %s", p.Ref)
			}
			p, ok = d.Components.Parameters[name]
			if !ok {
				t.Fatalf("parameter $ref %s does not resolve", name)
			}
		}
		out = append(out, p.In+":"+p.Name)
	}
	return out
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIMatchesRoutes holds the document and the routes table to each
// other: every route documented, every documented operation served.
// openAPIRouteChecks is what the subtests of TestOpenAPIMatchesRoutes share.
type openAPIRouteChecks struct {
	doc        openAPIDoc
	documented map[string]bool
	registered map[string]route
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadDoc(t, openAPISource)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]route{}
	for _, rt := range routes {
		key := rt.method + " " + rt.path
		registered[key] = rt
		if !documented[key] {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	for key := range documented {
		if _, ok := registered[key]; !ok {
			t.Errorf("openapi.json documents %s, which is not a route", key)
		}
	}

	s := &openAPIRouteChecks{doc: doc, documented: documented, registered: registered}
	t.Run("security matches the roles", s.securityMatchesRoles)
	t.Run("query parameters match the handlers", s.queryParametersMatchHandlers)
	t.Run("every documented operation is served", s.everyDocumentedOperationServed)
}

// securityMatchesRoles is the subtest "security matches the roles" of TestOpenAPIMatchesRoutes.
func (s *openAPIRouteChecks) securityMatchesRoles(t *testing.T) {
	doc := s.doc
	for _, rt := range routes {
		op := doc.Paths[rt.path][strings.ToLower(rt.method)]
		public := op.Security != nil && len(*op.Security) == 0
		if public != (rt.roles == nil) {
			t.Errorf("%s %s: documented public %v, route public %v", rt.method, rt.path, public, rt.roles == nil)
		}
		if _, ok := op.Responses["401"]; ok == (rt.roles == nil) {
			t.Errorf("%s %s: 401 documented %v", rt.method, rt.path, ok)
		}
		_, has403 := op.Responses["403"]
		if restricted := rt.roles != nil && len(rt.roles) < len(anyone); has403 != restricted {
			t.Errorf("%s %s: 403 documented %v, route restricted %v", rt.method, rt.path, has403, restricted)
		}
	}
}

// queryParametersMatchHandlers is the subtest "query parameters match the handlers" of TestOpenAPIMatchesRoutes.
func (s *openAPIRouteChecks) queryParametersMatchHandlers(t *testing.T) {
	doc := s.doc
	check := func(path string, want []string) {
		var got []string
		for _, p := range doc.params(t, doc.Paths[path]["get"].Parameters) {
			got = append(got, strings.TrimPrefix(p, "query:"))
		}
		sort.Strings(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: documented %q, handler takes %q", path, got, want)
		}
	}
	check("/events", eventParams)
	check("/constituent/events", constituentEventParams)
	check("/constituent/notifications", []string{"limit", "before"})
	check("/constituent/organisation", nil)
	check("/constituent/incidents", []string{"limit", "offset"})
	check("/constituent/incidents/{tag}", []string{"path:tag"})
	check("/constituent/reports", []string{"limit", "offset"})
	check("/deadletters", deadLetterParams)
	check("/feeds", nil)
	check("/feeds/{name}", []string{"path:name"})
	check("/me", nil)
	check("/owners", []string{"q"})
	check("/organisations", organisationListParams)
	check("/organisations/{id}", []string{"path:id"})
	check("/notifications", notificationParams)
	check("/users", nil)
	check("/users/{id}", []string{"path:id"})
	check("/saved-searches", nil)
	check("/saved-searches/{id}", []string{"path:id"})
	check("/saved-searches/{id}/events", append([]string{"path:id"}, savedRunParams...))
	check("/reports", reportListParams)
	check("/reports/{id}", []string{"path:id"})
	check("/incidents", incidentListParams)
	check("/incidents/{tag}", []string{"path:tag"})
	check("/publications", publicationListParams)
	check("/publications/{ident}", []string{"path:ident"})
	check("/organisations/{id}/products", []string{"path:id"})
	check("/constituent/products", nil)
	if got := doc.params(t, doc.Paths["/events/{hash}"]["get"].Parameters); !slices.Equal(got, []string{"path:hash"}) {
		t.Errorf("/events/{hash} parameters %q", got)
	}
}

// everyDocumentedOperationServed is the subtest "every documented operation is served" of TestOpenAPIMatchesRoutes.
func (s *openAPIRouteChecks) everyDocumentedOperationServed(t *testing.T) {
	documented := s.documented
	f := newFixture(t, fixtureOptions{})
	own := f.constituency()
	d := f.teamData()
	spare := strconv.FormatInt(d.research.ID, 10)
	if err := f.store.AddDeadLetters(t.Context(), []store.DeadLetter{
		{Feed: "f", Parser: "csv", Input: []byte("x"), Error: "e"}, {Feed: "f", Parser: "csv", Input: []byte("z"), Error: "e"}}); err != nil {
		t.Fatal(err)
	}
	saved := savedsearch.Search{UserID: f.users["ada"].ID, Name: "rdp", Query: "type=vulnerable-system"}
	if err := f.store.CreateSavedSearch(t.Context(), &saved); err != nil {
		t.Fatal(err)
	}
	savedPath := "/saved-searches/" + strconv.FormatInt(saved.ID, 10)
	// What each operation needs to succeed, and its success status;
	// GETs without an entry take no more than their path.
	calls := map[string]struct {
		path, body string
		status     int
	}{
		"POST /deadletters/retry":         {body: `{"ids":[1]}`},
		"GET /deadletters/{id}":           {path: "/deadletters/1"},
		"POST /deadletters/discard":       {body: `{"ids":[2],"reason":"test"}`},
		"POST /deadletters/{id}/edit":     {path: "/deadletters/1/edit", body: `{"input":"y"}`},
		"GET /owners":                     {path: "/owners?q=10.1.2.3"},
		"POST /organisations":             {body: `{"handle":"new","name":"New"}`, status: http.StatusCreated},
		"PUT /organisations/{id}":         {path: "/organisations/" + spare, body: `{"name":"Research"}`},
		"DELETE /organisations/{id}":      {path: "/organisations/" + spare, status: http.StatusNoContent},
		"POST /notifications/{id}/resend": {path: "/notifications/" + strconv.FormatInt(d.failed, 10) + "/resend"},
		"POST /users":                     {body: `{"name":"new","role":"analyst","password":"a long enough password"}`, status: http.StatusCreated},
		"PATCH /users/{id}":               {path: "/users/" + strconv.FormatInt(f.users["ana"].ID, 10), body: `{"language":"nl"}`},
		"DELETE /users/{id}":              {path: "/users/" + strconv.FormatInt(f.users["pub"].ID, 10), status: http.StatusNoContent},
		"POST /saved-searches":            {body: `{"name":"new","query":"ip=192.0.2.1"}`, status: http.StatusCreated},
		"GET /saved-searches/{id}":        {path: savedPath},
		"GET /saved-searches/{id}/events": {path: savedPath + "/events"},
		"DELETE /saved-searches/{id}":     {path: savedPath, status: http.StatusNoContent},

		"PUT /organisations/{id}/policy":                          {body: `{"enabled":true,"digest":"hourly"}`},
		"DELETE /organisations/{id}/policy":                       {status: http.StatusNoContent},
		"PUT /notifications/policy":                               {body: `{"enabled":true}`},
		"DELETE /notifications/policy":                            {status: http.StatusNoContent},
		"POST /changerequests/{id}/done":                          {path: "/changerequests/" + strconv.FormatInt(d.request, 10) + "/done"},
		"POST /constituency/import":                               {path: "/constituency/import?dry_run=true", body: `[]`},
		"GET /notifications/templates/{language}/{name}":          {path: "/notifications/templates/nl/type%2Fphishing"},
		"PUT /notifications/templates/{language}/{name}":          {path: "/notifications/templates/en/digest", body: `{"subject":"S","body":"B"}`},
		"DELETE /notifications/templates/{language}/{name}":       {path: "/notifications/templates/en/digest", status: http.StatusNoContent},
		"POST /notifications/templates/{language}/{name}/preview": {path: "/notifications/templates/en/immediate/preview"},
		"POST /teamkey/generate":                                  {body: `{"name":"CERT","email":"cert@example.org"}`},
		"POST /teamkey/import":                                    {body: `{"key":` + strconv.Quote(d.key) + `,"replace":true}`},
		"POST /feeds":                                             {body: `{"name":"blocklist","parser":"csv"}`, status: http.StatusCreated},
		"GET /feeds/{name}":                                       {path: "/feeds/inbox"},
		"PUT /feeds/{name}":                                       {path: "/feeds/inbox", body: `{"parser":"shadowserver"}`},
		"POST /feeds/{name}/run":                                  {path: "/feeds/inbox/run"},
		"POST /feeds/{name}/pause":                                {path: "/feeds/inbox/pause"},
		"POST /feeds/{name}/resume":                               {path: "/feeds/inbox/resume"},
		"DELETE /feeds/{name}/override":                           {path: "/feeds/inbox/override", status: http.StatusNoContent},
	}
	maps.Copy(calls, f.incidentCalls())
	maps.Copy(calls, f.constituentIncidentCalls())
	maps.Copy(calls, f.eventActionCalls())
	maps.Copy(calls, f.publicationCalls())
	maps.Copy(calls, f.productCalls())
	// The delete comes last: the replace uses the same organisation.
	keys := slices.Sorted(maps.Keys(documented))
	last := func(key string) int {
		if strings.HasPrefix(key, "DELETE ") {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(last(a), last(b)) })
	for _, key := range keys {
		method, path, _ := strings.Cut(key, " ")
		user, hash := "ada", f.hashes["rdp"]
		if strings.HasPrefix(path, "/constituent/") {
			user, hash = "ca", own["a"][0]
		}
		if u, ok := productCallUsers[key]; ok {
			user = u
		}
		path = strings.ReplaceAll(path, "{hash}", hash)
		path = strings.ReplaceAll(path, "{id}", strconv.FormatInt(d.lab.ID, 10))
		if strings.HasPrefix(path, "/users/") {
			path = "/users/" + strconv.FormatInt(f.users["ana"].ID, 10)
		}
		call, status := calls[key], http.StatusOK
		if call.path != "" {
			path = call.path
		}
		if call.status != 0 {
			status = call.status
		}
		var r response
		if call.body != "" {
			r = f.sendJSON(method, path, user, call.body)
		} else {
			r = f.do(method, path, user, nil)
		}
		if r.status != status {
			t.Errorf("%s: status %d, want %d: %s", key, r.status, status, r.body)
		}
	}
}

// TestOpenAPIDocument checks that the document is well-formed OpenAPI 3.1:
// the required structure, unique operation ids, references that resolve,
// and schemas that are valid JSON Schema 2020-12 (the 3.1 dialect).
func TestOpenAPIDocument(t *testing.T) {
	doc := loadDoc(t, openAPISource)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Error("info.title and info.version are required")
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Errorf("servers %v", doc.Servers)
	}
	scheme, ok := doc.Components.SecuritySchemes["bearerToken"]
	if !ok || scheme.Type != "http" || scheme.Scheme != "bearer" {
		t.Errorf("bearer security scheme %+v", scheme)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerToken"] == nil {
		t.Errorf("top-level security %v", doc.Security)
	}
	ids := map[string]bool{}
	for path, ops := range doc.Paths {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q must start with /", path)
		}
		for method, op := range ops {
			if !slices.Contains(httpMethods, method) {
				t.Errorf("%s: %q is not an HTTP method", path, method)
				continue
			}
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, op.OperationID)
			}
			ids[op.OperationID] = true
			if len(op.Responses) == 0 {
				t.Errorf("%s %s: no responses", method, path)
			}
			for _, p := range doc.params(t, op.Parameters) {
				in, name, _ := strings.Cut(p, ":")
				if in == "path" && !strings.Contains(path, "{"+name+"}") {
					t.Errorf("%s %s: path parameter %s not in the path", method, path, name)
				}
			}
		}
	}

	var tree any
	if err := json.Unmarshal(openAPISource, &tree); err != nil {
		t.Fatal(err)
	}
	walkRefs(tree, func(ref string) {
		if _, err := resolvePointer(tree, ref); err != nil {
			t.Errorf("$ref %s: %v", ref, err)
		}
	})

	for name := range doc.Components.Schemas {
		if _, err := compiledSchema(name); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	r := f.get("/openapi.json", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
	}
	if doc := loadDoc(t, r.body); doc.Info.Version != "1.2.3-test" || len(doc.Paths) != len(loadDoc(t, openAPISource).Paths) {
		t.Errorf("served document: version %q, %d paths", doc.Info.Version, len(doc.Paths))
	}
	g := newFixture(t, fixtureOptions{noVersion: true})
	if r := g.get("/openapi.json", ""); !bytes.Equal(r.body, openAPISource) {
		t.Error("without a version the embedded document should be served as is")
	}
}

func walkRefs(v any, fn func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if s, ok := c.(string); ok && k == "$ref" {
				fn(s)
				continue
			}
			walkRefs(c, fn)
		}
	case []any:
		for _, c := range v {
			walkRefs(c, fn)
		}
	}
}

func resolvePointer(tree any, ref string) (any, error) {
	pointer, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	v := tree
	for part := range strings.SplitSeq(pointer, "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", part)
		}
		if v, ok = m[part]; !ok {
			return nil, fmt.Errorf("no %s", part)
		}
	}
	return v, nil
}

const docURL = "https://vigil.invalid/api/v1/openapi.json"

// schemas compiles the document's component schemas with JSON Schema
// 2020-12, which OpenAPI 3.1 uses; compiling checks each against the
// 2020-12 meta-schema.
var schemas = sync.OnceValues(func() (*jsonschema.Compiler, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPISource))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, err
	}
	return c, nil
})

var (
	compiledMu sync.Mutex
	compiled   = map[string]*jsonschema.Schema{}
)

func compiledSchema(name string) (*jsonschema.Schema, error) {
	c, err := schemas()
	if err != nil {
		return nil, err
	}
	compiledMu.Lock()
	defer compiledMu.Unlock()
	if s, ok := compiled[name]; ok {
		return s, nil
	}
	s, err := c.Compile(docURL + "#/components/schemas/" + name)
	if err != nil {
		return nil, err
	}
	compiled[name] = s
	return s, nil
}

// checkSchema validates a response body against the documented schema, so
// the document describes what the API really sends.
func checkSchema(t *testing.T, name string, body []byte) {
	t.Helper()
	s, err := compiledSchema(name)
	if err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("body does not match schema %s: %v\nbody: %.500s", name, err, body)
	}
}
