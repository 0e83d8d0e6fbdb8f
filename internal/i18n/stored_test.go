package i18n

import "testing"

func TestStoredMessage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	inner := M("channel.error.status", 503, `maintenance "until" 10:00 — ünïcode`)
	m := M("channel.error.gaveup", 8, inner)
	s := m.Encode()
	if want := `["channel.error.gaveup",8,["channel.error.status",503,"maintenance \"until\" 10:00 — ünïcode"]]`; s != want {
		t.Fatalf("Encode = %s, want %s", s, want)
	}
	back, ok := Decode(s)
	if !ok {
		t.Fatalf("Decode(%s) failed", s)
	}
	// Integers come back as int64: the same text, in every language.
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		if got, want := back.In(c, lang), m.In(c, lang); got != want {
			t.Errorf("%s: decoded %q, encoded %q", lang, got, want)
		}
		if got := c.Stored(lang, s); got != m.In(c, lang) {
			t.Errorf("Stored(%s) = %q", lang, got)
		}
	}
	if got := c.Stored("de", s); got == m.String() {
		t.Errorf("Stored(de) is the English %q", got)
	}
	if (Message{}).Encode() != "" {
		t.Error("the zero message encodes")
	}

	t.Run("plain text stays as it is", func(t *testing.T) {
		for _, s := range []string{
			"", "HTTP 500: boom", "not public", `["no dots here"]`, `[]`, `["a.b", 1.5]`, `["a.b", true]`,
			`["a.b"] trailing`, `["a.b", "x"`, `["a b.c"]`, `["a.b",1,2,3,4,5]`, `[".a"]`, `["a..b"]`,
			`["a.b",["c.d",["e.f",["g.h",["i.j",["k.l"]]]]]]`,
		} {
			if m, ok := Decode(s); ok {
				t.Errorf("Decode(%q) = %v, want plain text", s, m)
			}
		}
		// A stored form whose ID the catalogue does not know is shown as
		// it is, not as the bare ID.
		if got := c.Stored("nl", `["nobody.knows","x"]`); got != `["nobody.knows","x"]` {
			t.Errorf("unknown ID shown as %q", got)
		}
		if got := c.Stored("nl", "HTTP 500"); got != "HTTP 500" {
			t.Errorf("plain text shown as %q", got)
		}
	})
}
