package incidenttest

import (
	"fmt"
	"testing"

	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// testReportObservables: the observables of a list of reports, by
// report, in one read; a report without any and an unknown id have none.
func testReportObservables(t *testing.T, f *fixture) {
	a := f.receive(t, phishing("https://one.example/a"))
	b := f.receive(t, phishing("https://two.example/b"))
	bare := phishing("https://three.example/c")
	bare.Observables = nil
	c := f.receive(t, bare)
	got, err := f.inc.ReportObservables(t.Context(), []int64{a.ReportID, b.ReportID, c.ReportID, 999999})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]extract.Observable{
		a.ReportID: {{Kind: extract.IP, Value: "192.0.2.7"}, {Kind: extract.URL, Value: "https://one.example/a"}},
		b.ReportID: {{Kind: extract.IP, Value: "192.0.2.7"}, {Kind: extract.URL, Value: "https://two.example/b"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 2 {
		t.Errorf("ReportObservables = %v, want %v", got, want)
	}
	if none, err := f.inc.ReportObservables(t.Context(), nil); err != nil || len(none) != 0 {
		t.Errorf("ReportObservables(nil) = %v, %v", none, err)
	}
}
