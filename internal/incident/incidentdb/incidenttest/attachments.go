package incidenttest

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/incident"
)

// testIncidentAttachments shows that an incident's attachments are its
// own and those of the reports linked to it, and none of another
// incident's or of a report in the queue.
func testIncidentAttachments(t *testing.T, f *fixture) {
	ctx := t.Context()
	put := func(data string) incident.Attachment {
		t.Helper()
		sum, err := f.inc.PutBlob(ctx, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return incident.Attachment{SHA256: sum, Name: data + ".txt", ContentType: "text/plain", Size: int64(len(data))}
	}
	mail, shot, other := put("mail"), put("shot"), put("other")
	r := phishing("https://attach.example/")
	r.Attachments = []incident.Attachment{mail}
	linked := f.receive(t, r)
	r = phishing("https://elsewhere.example/")
	r.Attachments = []incident.Attachment{other}
	queued := f.receive(t, r)
	inc, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Attachments"}, []int64{linked.ReportID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Attach(ctx, analyst, inc.ID, "shot.txt", "text/plain", []byte("shot")); err != nil {
		t.Fatal(err)
	}
	got, err := f.inc.IncidentAttachments(ctx, inc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []incident.IncidentAttachment{{Attachment: shot}, {Attachment: mail, ReportID: linked.ReportID, Tracking: linked.Tracking}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("attachments %+v, want %+v (none of report %d)", got, want, queued.ReportID)
	}
	if got, err := f.inc.IncidentAttachments(ctx, inc.ID, 1); err != nil || len(got) != 1 || got[0] != want[0] {
		t.Errorf("at most one: %+v, %v", got, err)
	}
	if got, err := f.inc.IncidentAttachments(ctx, inc.ID+1000, 0); err != nil || len(got) != 0 {
		t.Errorf("of no incident: %+v, %v", got, err)
	}
}
