package publication_test

import (
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
)

func TestRedactDigest(t *testing.T) {
	body := "Intro.\n\n" +
		publication.DigestItem("VIGIL-2026-0001", "high", "[Kept](<https://x/1>)", "Still here") + "\n" +
		publication.DigestItem("VIGIL-2026-0002", "low", "[Gone](<https://x/2>)", "Withdrawn since") + "\n" +
		publication.DigestItem("VIGIL-2026-0003", "low", "[Secret now](<https://x/3>)", "") + "\n" +
		"- **not an item**, a line the team wrote\n"
	d := publication.Publication{Kind: publication.KindDigest, Content: publication.Content{Texts: []publication.Text{{Lang: "en", Body: body}}}}
	state := map[string]publication.DigestItemState{"VIGIL-2026-0001": publication.ItemPublic, "VIGIL-2026-0002": publication.ItemWithdrawn, "VIGIL-2026-0003": publication.ItemHidden}
	got := publication.RedactDigest(d, func(id string) publication.DigestItemState { return state[id] }, func(string) string { return "with_drawn" })
	want := "Intro.\n\n- **VIGIL-2026-0001** (high) [Kept](<https://x/1>): Still here\n- **VIGIL-2026-0002** *with\\_drawn*\n- **not an item**, a line the team wrote\n"
	if got.Texts[0].Body != want {
		t.Errorf("body:\n%s\nwant:\n%s", got.Texts[0].Body, want)
	}
	if d.Texts[0].Body != body {
		t.Error("RedactDigest changed the digest it was given")
	}
	advisory := d
	advisory.Kind = publication.KindAdvisory
	if publication.RedactDigest(advisory, func(string) publication.DigestItemState { return publication.ItemHidden }, strings.ToUpper).Texts[0].Body != body {
		t.Error("an advisory was redacted as a digest")
	}
}

// FuzzRedactDigest: a body whose items are all public comes back as it
// was, and one whose items are all hidden keeps no item line.
func FuzzRedactDigest(f *testing.F) {
	f.Add("- **VIGIL-2026-0001** (high) [T](<u>): s\nplain\n")
	f.Add("- **X** \n- **** x\n\n")
	f.Fuzz(func(t *testing.T, body string) {
		d := publication.Publication{Kind: publication.KindDigest, Content: publication.Content{Texts: []publication.Text{{Lang: "en", Body: body}}}}
		public := publication.RedactDigest(d, func(string) publication.DigestItemState { return publication.ItemPublic }, strings.ToUpper)
		if public.Texts[0].Body != body {
			t.Errorf("all public changed %q to %q", body, public.Texts[0].Body)
		}
		hidden := publication.RedactDigest(d, func(string) publication.DigestItemState { return publication.ItemHidden }, strings.ToUpper)
		for line := range strings.SplitSeq(hidden.Texts[0].Body, "\n") {
			if _, ok := publication.DigestItemIdent(line); ok {
				t.Errorf("all hidden kept %q", line)
			}
		}
	})
}

// TestDigestItemsOfEveryPattern: the line of every ident a valid
// pattern can make is read back, and a summary or title over several
// lines stays on the item's line.
func TestDigestItemsOfEveryPattern(t *testing.T) {
	for _, pattern := range []string{"", "CERT.at-{year}-{n:4}", "CERT_EU-{year}-{n}", "ncsc.{year}.{n:3}"} {
		if err := (publication.Config{IdentPattern: pattern}).Validate(); err != nil {
			t.Fatalf("pattern %q: %v", pattern, err)
		}
		ident := publication.FormatIdent(pattern, 2026, 7)
		line := publication.DigestItem(ident, "high", "[Title\non two lines](https://cert.example/en/p/"+ident+")", "First line.\r\n\r\nSecond paragraph.")
		if strings.Contains(line, "\n") || strings.Contains(line, "\r") {
			t.Errorf("%q: the item is on several lines: %q", pattern, line)
		}
		if got, ok := publication.DigestItemIdent(line); !ok || got != ident {
			t.Errorf("%q: read back %q, %v from %q", pattern, got, ok, line)
		}
	}
	for _, pattern := range []string{"NCSC/{year}/{n}", "CSIRT {year}-{n}", "X*{year}-{n}", "A<{year}>{n}"} {
		if err := (publication.Config{IdentPattern: pattern}).Validate(); err == nil {
			t.Errorf("pattern %q accepted", pattern)
		}
	}
}
