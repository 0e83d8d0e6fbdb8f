package collector

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/output"
	"github.com/vigil-cert/vigil/internal/pipeline"
	_ "github.com/vigil-cert/vigil/internal/shadowserver" // registers the shadowserver parser
	"github.com/vigil-cert/vigil/internal/store"
)

// TestShadowserverAPIPipeline runs the collector into a real pipeline: the
// Shadowserver parser reads each report's type from the name the collector
// gives it, and the events arrive in the store. A restart stores nothing
// twice because nothing is downloaded twice.
func TestShadowserverAPIPipeline(t *testing.T) {
	ctx := context.Background()
	rdp := fakeReport{ID: "r1", Type: "scan_rdp", Date: "2026-11-20", List: "belgium",
		File: "2026-11-20-scan_rdp-belgium-geo.csv",
		Body: []byte("timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,city\n" +
			"2026-11-20 00:00:00,medium,198.51.100.13,tcp,3389,host-1.example.net,rdp,64504,BE,Flanders,Ghent\n" +
			"2026-11-20 00:00:01,critical,198.51.100.236,tcp,3389,host-2.example.net,rdp,64509,BE,Flanders,Leuven\n")}
	smb := fakeReport{ID: "s1", Type: "scan_smb", Date: "2026-11-19", List: "belgium",
		File: "2026-11-19-scan_smb-belgium-geo.csv",
		Body: []byte("timestamp,ip,protocol,port,hostname,tag,asn,geo,region,city\n" +
			"2026-11-19 03:00:00,192.0.2.77,tcp,445,files.example.org,smb,64510,BE,Wallonia,Namur\n")}
	api := startReportsAPI(t, rdp, smb)
	s := openStore(t)

	parser, err := pipeline.NewParser("shadowserver", pipeline.Env{Store: s, Logger: testLogger(t)}, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storeOut, err := output.NewStore(s)
	if err != nil {
		t.Fatal(err)
	}
	runner := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: s, Logger: testLogger(t), Now: fixedNow},
		Transport: pipeline.NewLocal(2),
		Feeds: []*pipeline.Feed{{Name: "shadowserver", Provider: "Shadowserver", KeepRaw: true,
			ParserID: "shadowserver", Parser: parser}},
		Outputs: []pipeline.Output{storeOut}, BatchSize: 10, Workers: 1,
	})
	workCtx, stop := context.WithCancel(ctx)
	defer stop()
	go runner.Work(workCtx)

	c, _ := newTestReportsCollector(t, s, reportsOptions(api))
	if err := c.Fetch(ctx, runner.Deliver); err != nil {
		t.Fatal(err)
	}
	got := storedEvents(t, s)
	want := []string{
		"192.0.2.77 scan_smb 445",
		"198.51.100.13 scan_rdp 3389",
		"198.51.100.236 scan_rdp 3389",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}

	// A restart downloads and stores nothing again.
	c, _ = newTestReportsCollector(t, s, reportsOptions(api))
	if err := c.Fetch(ctx, runner.Deliver); err != nil {
		t.Fatal(err)
	}
	if n := api.downloadCount(rdp.ID) + api.downloadCount(smb.ID); n != 2 {
		t.Errorf("%d downloads after the restart, want 2", n)
	}
	if got := storedEvents(t, s); len(got) != 3 {
		t.Errorf("stored %d events after the restart, want 3", len(got))
	}
	if st := feedStatus(t, s); st.LastError != "" || st.LinesRead == 0 {
		t.Errorf("feed status %+v, want lines read and no error", st)
	}
}

// storedEvents lists the stored events as "source.ip report-type port",
// sorted; the report type is the one the parser took from the file name.
func storedEvents(t *testing.T, s store.Store) []string {
	t.Helper()
	page, err := s.SearchEvents(context.Background(), store.EventQuery{Limit: 100,
		From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, se := range page.Events {
		e := se.Event
		out = append(out, e.Value("source.ip")+" "+e.Value("feed.code")+" "+e.Value("source.port"))
	}
	slices.Sort(out)
	return out
}
