package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/incident"
)

// TestIncidentAttachmentRoute downloads an incident's attachment: bytes
// in a sandbox, never a page; a hash the incident does not hold, even one
// another incident holds, is not found.
func TestIncidentAttachmentRoute(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.incidents()
	r := f.get("/incidents/"+d.a+"/attachments/"+d.attached, "ana")
	h := r.header
	if r.status != http.StatusOK || string(r.body) != attachedPage || h.Get("Content-Type") != "application/octet-stream" ||
		h.Get("Content-Disposition") != `attachment; filename="page.html"; filename*=UTF-8''page.html` ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != incident.DownloadPolicy {
		t.Errorf("download: %d %v %s", r.status, h, r.body)
	}
	svc := &incident.Service{Store: f.store, Audit: f.store}
	other, err := svc.Attach(t.Context(), incident.Actor{Name: "ada"}, d.bID, "other.txt", "text/plain", []byte("b's secret"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/incidents/" + d.a + "/attachments/" + other.SHA256,
		"/incidents/" + d.a + "/attachments/" + strings.Repeat("0", 64),
		"/incidents/2000-99999/attachments/" + d.attached,
	} {
		r := f.get(path, "ana")
		wantError(t, r, http.StatusNotFound, "not_found", "")
		if strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "script") {
			t.Errorf("%s: %s", path, r.body)
		}
	}
	wantError(t, f.get("/incidents/"+d.a+"/attachments/"+d.attached, "pub"), http.StatusForbidden, "forbidden", "")
	wantError(t, f.get("/incidents/"+d.a+"/attachments/"+d.attached+"?x=1", "ana"), http.StatusBadRequest, "bad_parameter", "x")
}
