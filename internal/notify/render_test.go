package notify

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// renderNow is the fixed time of the rendering tests.
var renderNow = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

// readEvents loads testdata/events.jsonl, the input of the golden tests.
func readEvents(t testing.TB) []store.StoredEvent {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []store.StoredEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		e := event.New(24)
		if err := e.ParseJSON(sc.Bytes()); err != nil {
			t.Fatalf("testdata line %d: %v", len(events)+1, err)
		}
		events = append(events, store.StoredEvent{Hash: e.Hash(), Stored: renderNow.Add(-time.Hour), Event: e})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.From = "Example CERT <cert@example.org>"
	cfg.PortalURL = "https://portal.example.org/"
	cfg.TableRows = 2
	return cfg
}

func testRenderer(t testing.TB, cfg Config) *renderer {
	t.Helper()
	r, err := newRenderer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dumpEntity writes a readable form of a multipart/mixed entity: every
// part's header and its decoded body (gzip files decompressed), so that
// golden files show what a recipient reads and their diffs can be
// reviewed.
func dumpEntity(t testing.TB, entity []byte) string {
	t.Helper()
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(entity)))
	h, err := tr.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("entity header: %v", err)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("entity Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(params["boundary"], "=_vigil_") {
		t.Errorf("boundary %q", params["boundary"])
	}
	var out strings.Builder
	mr := multipart.NewReader(tr.R, params["boundary"])
	for i := 1; ; i++ {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		for _, line := range bytes.Split(raw, []byte("\r\n")) {
			if len(line) > 76 {
				t.Errorf("part %d: encoded line of %d characters", i, len(line))
			}
			for _, b := range line {
				if b >= 0x80 {
					t.Fatalf("part %d is not 7-bit", i)
				}
			}
		}
		fmt.Fprintf(&out, "=== part %d\n", i)
		for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"} {
			fmt.Fprintf(&out, "%s: %s\n", k, p.Header.Get(k))
		}
		out.WriteString("\n")
		var body []byte
		switch p.Header.Get("Content-Transfer-Encoding") {
		case "quoted-printable":
			body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
			body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
		case "base64":
			body, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
		default:
			t.Fatalf("part %d: transfer encoding %q", i, p.Header.Get("Content-Transfer-Encoding"))
		}
		if err != nil {
			t.Fatalf("part %d: decode: %v", i, err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "application/gzip") {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("part %d: gzip: %v", i, err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("part %d: gzip: %v", i, err)
			}
			fmt.Fprintf(&out, "(%d bytes gzip-compressed, %d uncompressed)\n", len(body), len(plain))
			body = plain
		}
		out.Write(body)
		if len(body) > 0 && body[len(body)-1] != '\n' {
			out.WriteString("\n")
		}
	}
	return out.String()
}

func TestGolden(t *testing.T) {
	events := readEvents(t)
	repeats := []Repeat{
		{Summary: "ddos-amplifier/open-dns 192.0.2.10:53 (dns)", Times: 2, FirstSent: renderNow.Add(-72 * time.Hour)},
		{Summary: "vulnerable-system/ssl-poodle 192.0.2.11:443", Times: 1, FirstSent: renderNow.Add(-48 * time.Hour)},
	}
	org := constituency.Organisation{ID: 7, Handle: "example-university", Name: "Example University", Language: "en"}
	r := testRenderer(t, testConfig())
	for _, lang := range Languages {
		for _, format := range []string{FormatSummary, FormatJSON, FormatXARF} {
			name := fmt.Sprintf("digest-%s-%s.golden", lang, format)
			t.Run(name, func(t *testing.T) {
				msgs, err := r.render(renderInput{Kind: NameDigest, Org: org, Language: lang, Format: format,
					Events: events, Repeats: repeats, MoreRepeats: 1, Now: renderNow})
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 {
					t.Fatalf("%d messages, want 1", len(msgs))
				}
				golden(t, name, []byte("Subject: "+msgs[0].Subject+"\n"+dumpEntity(t, msgs[0].Entity)))
			})
		}
	}
	t.Run("immediate-en-summary.golden", func(t *testing.T) {
		var infected []store.StoredEvent
		for _, e := range events {
			if e.Event.Value("classification.type") == "infected-system" {
				infected = append(infected, e)
			}
		}
		msgs, err := r.render(renderInput{Kind: NameImmediate, Type: "infected-system", Org: org, Language: "en",
			Format: FormatSummary, Events: infected, Now: renderNow})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "immediate-en-summary.golden", []byte("Subject: "+msgs[0].Subject+"\n"+dumpEntity(t, msgs[0].Entity)))
	})
}

// TestRenderDeterministic guards what the golden files rely on: the same
// input renders to the same bytes, boundary included.
func TestRenderDeterministic(t *testing.T) {
	r := testRenderer(t, testConfig())
	in := renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "fr", Format: FormatSummary, Events: readEvents(t), Now: renderNow}
	a, err := r.render(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.render(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a[0].Entity, b[0].Entity) || a[0].Subject != b[0].Subject {
		t.Error("two renderings of the same input differ")
	}
}

// TestWithheldFields checks, apart from the golden files, that no
// attachment names the other organisations an event concerns or carries
// the feed's raw line.
func TestWithheldFields(t *testing.T) {
	r := testRenderer(t, testConfig())
	events := readEvents(t)
	for _, format := range []string{FormatSummary, FormatJSON, FormatXARF} {
		msgs, err := r.render(renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "en", Format: format, Events: events, Now: renderNow})
		if err != nil {
			t.Fatal(err)
		}
		dump := dumpEntity(t, msgs[0].Entity)
		for _, leak := range []string{"other-org", "extra.constituency", "IjIwMjYtMTEtMTkgMDM6MTI6NDQi", `"raw"`} {
			if strings.Contains(dump, leak) {
				t.Errorf("%s: the message contains %q", format, leak)
			}
		}
	}
	// The events themselves are not changed by rendering.
	if !events[0].Event.Has(store.ConstituencyField) || !events[0].Event.Has("raw") {
		t.Error("rendering removed fields from the caller's event")
	}
}

// manyEvents makes n distinct scan events.
func manyEvents(n int) []store.StoredEvent {
	out := make([]store.StoredEvent, n)
	for i := range out {
		e := event.New(10)
		e.SetTime("time.source", renderNow.Add(-time.Duration(i)*time.Second))
		e.SetTrusted("classification.taxonomy", "vulnerable")
		e.SetTrusted("classification.type", "vulnerable-system")
		e.SetTrusted("classification.identifier", "ssl-poodle")
		e.SetTrusted("source.ip", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		e.SetInt("source.port", 443)
		e.SetTrusted("feed.name", "shadowserver-scan-ssl")
		out[i] = store.StoredEvent{Hash: e.Hash(), Event: e}
	}
	return out
}

// attachmentsOf returns the decoded attachments of an entity by name.
func attachmentsOf(t *testing.T, entity []byte) map[string][]byte {
	t.Helper()
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(entity)))
	h, err := tr.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	mr := multipart.NewReader(tr.R, params["boundary"])
	out := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.FileName() == "" {
			continue
		}
		b, err := io.ReadAll(p) // NextPart decodes quoted-printable, not base64
		if err != nil {
			t.Fatal(err)
		}
		data, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", ""))
		if err != nil {
			t.Fatal(err)
		}
		out[p.FileName()] = data
	}
}

// csvRows counts the data rows of a CSV attachment, gunzipping it first
// when its name says so.
func csvRows(t *testing.T, name string, data []byte) int {
	t.Helper()
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return len(rows) - 1
}

func TestSplitByEventCount(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEventsPerMessage = 40
	r := testRenderer(t, cfg)
	events := manyEvents(100)
	msgs, err := r.render(renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "en", Format: FormatSummary, Events: events, Now: renderNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages for 100 events at 40 a message, want 3", len(msgs))
	}
	total := 0
	seen := map[event.Hash]bool{}
	for i, m := range msgs {
		if m.Part != i+1 || m.Parts != 3 {
			t.Errorf("message %d is part %d of %d", i+1, m.Part, m.Parts)
		}
		if want := fmt.Sprintf("(part %d of 3)", i+1); !strings.Contains(m.Subject, want) {
			t.Errorf("subject %q lacks %q", m.Subject, want)
		}
		if len(m.Events) > 40 {
			t.Errorf("part %d has %d events", i+1, len(m.Events))
		}
		for _, h := range m.Events {
			if seen[h] {
				t.Errorf("event %s in two parts", h)
			}
			seen[h] = true
		}
		files := attachmentsOf(t, m.Entity)
		if len(files) != 1 {
			t.Fatalf("part %d has %d attachments", i+1, len(files))
		}
		for name, data := range files {
			if !strings.Contains(name, fmt.Sprintf("-part%d.csv", i+1)) {
				t.Errorf("attachment of part %d is named %s", i+1, name)
			}
			n := csvRows(t, name, data)
			if n != len(m.Events) {
				t.Errorf("part %d: %d CSV rows for %d events", i+1, n, len(m.Events))
			}
			total += n
		}
		if text := dumpEntity(t, m.Entity); !strings.Contains(text, fmt.Sprintf("this is part %d of 3", i+1)) {
			t.Errorf("part %d does not say which part it is", i+1)
		}
	}
	if total != 100 || len(seen) != 100 {
		t.Errorf("parts hold %d rows and %d events, want 100", total, len(seen))
	}
}

func TestSplitBySize(t *testing.T) {
	cfg := testConfig()
	cfg.GzipAboveBytes = 0 // measure the plain CSV
	cfg.MaxAttachmentBytes = 64 << 10
	r := testRenderer(t, cfg)
	events := manyEvents(3000) // about 130 bytes a row: some 400 KB
	msgs, err := r.render(renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "en", Format: FormatSummary, Events: events, Now: renderNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 5 {
		t.Fatalf("%d messages; a 400 KB attachment at 64 KiB a message needs at least 5", len(msgs))
	}
	total := 0
	for i, m := range msgs {
		for name, data := range attachmentsOf(t, m.Entity) {
			if len(data) > int(cfg.MaxAttachmentBytes) {
				t.Errorf("part %d: %s has %d bytes, over the limit of %d", i+1, name, len(data), cfg.MaxAttachmentBytes)
			}
			if strings.HasSuffix(name, ".gz") {
				t.Errorf("part %d: %s compressed with compression off", i+1, name)
			}
			total += csvRows(t, name, data)
		}
	}
	if total != len(events) {
		t.Errorf("%d rows in all parts, want %d", total, len(events))
	}
}

func TestGzipThreshold(t *testing.T) {
	events := manyEvents(2000)
	render := func(gzipAbove int64) map[string][]byte {
		cfg := testConfig()
		cfg.GzipAboveBytes = gzipAbove
		msgs, err := testRenderer(t, cfg).render(renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "en",
			Format: FormatSummary, Events: events, Now: renderNow})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 {
			t.Fatalf("%d messages, want 1", len(msgs))
		}
		return attachmentsOf(t, msgs[0].Entity)
	}
	plain := render(0)
	var size int
	for name, data := range plain {
		if strings.HasSuffix(name, ".gz") {
			t.Fatalf("gzip_above_bytes 0 compressed %s", name)
		}
		size = len(data)
	}
	t.Run("below the threshold", func(t *testing.T) {
		for name := range render(int64(size)) {
			if strings.HasSuffix(name, ".gz") {
				t.Errorf("a %d-byte file is compressed at a threshold of %d", size, size)
			}
		}
	})
	t.Run("above the threshold", func(t *testing.T) {
		files := render(int64(size - 1))
		for name, data := range files {
			if !strings.HasSuffix(name, ".csv.gz") {
				t.Fatalf("a %d-byte file is not compressed at a threshold of %d: %s", size, size-1, name)
			}
			if len(data) >= size/2 {
				t.Errorf("compressed to %d of %d bytes", len(data), size)
			}
			if n := csvRows(t, name, data); n != len(events) {
				t.Errorf("%d rows after decompression, want %d", n, len(events))
			}
		}
	})
	t.Run("compression avoids a split", func(t *testing.T) {
		cfg := testConfig()
		cfg.GzipAboveBytes = 1024
		cfg.MaxAttachmentBytes = int64(size) / 2 // the plain file would need two parts
		msgs, err := testRenderer(t, cfg).render(renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "en",
			Format: FormatJSON, Events: events, Now: renderNow})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 {
			t.Errorf("%d messages, want 1: compressed, the file fits", len(msgs))
		}
	})
}

// TestXARFReports checks each X-ARF report for the fields its type's
// schema (X-ARF schema release 3) requires.
func TestXARFReports(t *testing.T) {
	r := testRenderer(t, testConfig())
	events := readEvents(t)
	msgs, err := r.render(renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "en", Format: FormatXARF, Events: events, Now: renderNow})
	if err != nil {
		t.Fatal(err)
	}
	files := attachmentsOf(t, msgs[0].Entity)
	if len(files) != len(events) {
		t.Fatalf("%d reports for %d events", len(files), len(events))
	}
	byHash := map[string]store.StoredEvent{}
	for _, e := range events {
		byHash[e.Hash.String()] = e
	}
	for name, data := range files {
		var doc struct {
			Version      string
			Disclosure   *bool
			ReporterInfo map[string]string
			Report       map[string]any
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc.Version != XARFVersion || doc.Disclosure == nil {
			t.Errorf("%s: Version %q, Disclosure %v", name, doc.Version, doc.Disclosure)
		}
		for _, k := range []string{"ReporterOrg", "ReporterOrgDomain", "ReporterOrgEmail"} {
			if len(doc.ReporterInfo[k]) < 3 {
				t.Errorf("%s: ReporterInfo.%s = %q", name, k, doc.ReporterInfo[k])
			}
		}
		rep := doc.Report
		e, ok := byHash[fmt.Sprint(rep["ReporterCaseID"])]
		if !ok {
			t.Fatalf("%s: ReporterCaseID %v names no event", name, rep["ReporterCaseID"])
		}
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(rep["Date"])); err != nil {
			t.Errorf("%s: Date %v", name, rep["Date"])
		}
		if rep["SourceIp"] != e.Event.Value("source.ip") {
			t.Errorf("%s: SourceIp %v, event has %s", name, rep["SourceIp"], e.Event.Value("source.ip"))
		}
		switch typ := e.Event.Value("classification.type"); typ {
		case "ddos-amplifier", "potentially-unwanted-accessible":
			if rep["ReportClass"] != "Vulnerability" || rep["ReportType"] != "OpenService" || rep["ServiceName"] == nil {
				t.Errorf("%s: %s reported as %v/%v service %v", name, typ, rep["ReportClass"], rep["ReportType"], rep["ServiceName"])
			}
		case "phishing":
			if rep["ReportType"] != "Phishing" || rep["SourceUrl"] != e.Event.Value("source.url") {
				t.Errorf("%s: phishing reported as %v with SourceUrl %v", name, rep["ReportType"], rep["SourceUrl"])
			}
		case "infected-system":
			if rep["ReportType"] != "Botnet" || rep["BotnetName"] != "mirai" {
				t.Errorf("%s: infection reported as %v, botnet %v", name, rep["ReportType"], rep["BotnetName"])
			}
			if _, ok := rep["DestinationIp"]; ok {
				t.Errorf("%s: Botnet reports have no DestinationIp in the schema", name)
			}
		}
	}
}

func TestReflow(t *testing.T) {
	in := "short line\nkept as is\n\n" +
		"a very long sentence that goes on and on and on and on, well past the seventy-two columns of a mail\n" +
		"  TABLE  ROW  THAT  IS  VERY  LONG  AND  MUST  NOT  BE  WRAPPED  EVEN  THOUGH  IT  IS  LONG\n" +
		"  - a list item that is long enough to need wrapping, with a hanging indent for what follows it\n\n\n\n" +
		"French\u00a0: no-break spaces hold words together in a paragraph that is long enough to wrap somewhere\u00a0; here"
	want := "short line\nkept as is\n\n" +
		"a very long sentence that goes on and on and on and on, well past the\nseventy-two columns of a mail\n" +
		"  TABLE  ROW  THAT  IS  VERY  LONG  AND  MUST  NOT  BE  WRAPPED  EVEN  THOUGH  IT  IS  LONG\n" +
		"  - a list item that is long enough to need wrapping, with a hanging\n    indent for what follows it\n\n" +
		"French\u00a0: no-break spaces hold words together in a paragraph that is long\nenough to wrap somewhere\u00a0; here"
	if got := reflow(in, 72); got != want {
		t.Errorf("reflow:\n%s\nwant:\n%s", got, want)
	}
}

// TestSplitAnyLimit renders the same events under many attachment limits
// (far below what Validate allows, to get many parts): every rendering
// ends, keeps every event once, and no part is over the limit unless it
// holds a single event.
func TestSplitAnyLimit(t *testing.T) {
	events := manyEvents(50)
	for limit := int64(100); limit < 6000; limit += 137 {
		cfg := testConfig()
		cfg.GzipAboveBytes = 0
		cfg.MaxAttachmentBytes = limit
		msgs, err := testRenderer(t, cfg).render(renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "en",
			Format: FormatSummary, Events: events, Now: renderNow})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, m := range msgs {
			total += len(m.Events)
			for name, data := range attachmentsOf(t, m.Entity) {
				if int64(len(data)) > limit && len(m.Events) > 1 {
					t.Errorf("limit %d: %s has %d bytes for %d events", limit, name, len(data), len(m.Events))
				}
			}
		}
		if total != len(events) {
			t.Errorf("limit %d: %d events in %d parts", limit, total, len(msgs))
		}
	}
}

// TestPackBodyWithRuns: the messages of a pass (signed, and signed and
// encrypted; attachments plain and gzipped; in parts; every format)
// are packed with their attachments' runs into PackBody's bytes, and the
// runs are found in every signed message with an attachment of more than
// one line of base64.
func TestPackBodyWithRuns(t *testing.T) {
	keys(t)
	for _, gzipAbove := range []int64{0, 10_000} {
		for _, format := range []string{FormatSummary, FormatJSON, FormatXARF} {
			cfg := testConfig()
			cfg.From, cfg.GzipAboveBytes, cfg.MaxEventsPerMessage = "CERT <cert@example.org>", gzipAbove, 150
			pc, err := newPassConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			p := &pass{pc: pc, id: teamIdentity, now: renderNow}
			org := SampleOrganisation()
			org.Contacts = []constituency.Contact{
				{Name: "Alice", Email: "alice@uni.example", Notify: true},
				{Name: "Bob", Email: "bob@uni.example", Notify: true, PGPKey: contactKey},
			}
			msgs, err := pc.render.render(renderInput{Kind: NameDigest, Org: org, Language: "en", Format: format, Events: manyEvents(400), Now: renderNow})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 3 {
				t.Fatalf("%s: %d messages, want 3 parts", format, len(msgs))
			}
			for _, m := range msgs {
				out, err := p.deliver(org, m, nil, p.recipients(org), nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, msg := range out {
					runs := bodyRuns(msg.Body, m)
					if found := runs != nil; found != (!msg.Encrypted && len(m.runs) > 0) {
						t.Errorf("%s, gzip above %d, encrypted %v: runs found %v of %d", format, gzipAbove, msg.Encrypted, found, len(m.runs))
					}
					if !bytes.Equal(packBody(nil, msg.Body, m), outbox.PackBody(msg.Body)) {
						t.Errorf("%s, gzip above %d, encrypted %v: packed with the runs differs from PackBody", format, gzipAbove, msg.Encrypted)
					}
				}
				if len(m.runs) == 0 {
					t.Errorf("%s: no runs in a message with attachments", format)
				}
				pc.render.done(&m)
			}
		}
	}
}

// TestRenderAllEventIDsOfParts: a notification cut into parts gives each
// part's message the queue entries of its own events, from the input's
// Seqs as a pass gives them, the same as looked up by hash.
func TestRenderAllEventIDsOfParts(t *testing.T) {
	keys(t)
	cfg := testConfig()
	cfg.From, cfg.MaxEventsPerMessage = "CERT <cert@example.org>", 40
	pc, err := newPassConfig(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p := &pass{pc: pc, id: teamIdentity, now: renderNow}
	org := SampleOrganisation()
	org.Contacts = []constituency.Contact{{Name: "Alice", Email: "alice@uni.example", Notify: true}}
	events := manyEvents(100)
	seqs := make([]int64, len(events))
	for i := range events {
		seqs[i] = int64(1000 + 7*i)
	}
	in := renderInput{Kind: NameDigest, Org: org, Language: "en", Format: FormatSummary, Events: events, Seqs: seqs, Now: renderNow}
	o := &orgWork{org: org.Handle, now: renderNow}
	if err := p.renderAll(o, org, Policy{Language: "en", Format: FormatSummary}, []renderInput{in}, p.recipients(org)); err != nil {
		t.Fatal(err)
	}
	if len(o.messages) != 3 {
		t.Fatalf("%d messages, want 3 parts", len(o.messages))
	}
	var all []int64
	for i, m := range o.messages {
		if len(m.EventIDs) == 0 {
			t.Errorf("part %d: no entries", i+1)
		}
		all = append(all, m.EventIDs...)
	}
	if !slices.Equal(all, seqs) {
		t.Errorf("the parts' entries %v, want every event's once, in order: %v", all, seqs)
	}
}
