package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
)

// openAPISource is the OpenAPI 3.1 description of every route, written by
// hand so that it reads as documentation; TestOpenAPIMatchesRoutes keeps it
// and the routes table in step.
//
//go:embed openapi.json
var openAPISource []byte

// openAPIDocument returns the document with info.version set to the
// running version.
func openAPIDocument(version string) []byte {
	if version == "" {
		return openAPISource
	}
	var doc map[string]any
	if err := json.Unmarshal(openAPISource, &doc); err != nil {
		// The embedded document is checked by the tests.
		panic("api: embedded openapi.json: " + err.Error())
	}
	if info, ok := doc["info"].(map[string]any); ok {
		info["version"] = version
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("api: openapi.json: " + err.Error())
	}
	return append(b, '\n')
}

func (h *handler) openAPI(_ *http.Request, _ *caller) (any, error) {
	return rawJSON(h.openapi), nil
}
