package incident

import (
	"strings"
	"testing"
)

// FuzzSubjectTag: any subject (mail subjects are outside input) gives a
// tag that writes itself back into a subject that yields it again, or
// no tag; never a panic.
func FuzzSubjectTag(f *testing.F) {
	for _, s := range []string{"Re: [VIGIL#2026-123] Phishing", "[vigil#2026-0]", "[VIGIL#9999-999999999]", "[VIGIL#2026-", "\xff[VIGIL#2026-1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		tag, ok := SubjectTag(subject)
		if !ok {
			if !tag.IsZero() {
				t.Fatalf("no tag but %v", tag)
			}
			return
		}
		if tag.Year < 2000 || tag.Seq < 1 {
			t.Fatalf("tag %v from %q", tag, subject)
		}
		again, ok := SubjectTag("Re: " + tag.Subject())
		if !ok || again != tag {
			t.Fatalf("%v written as %q reads back as %v", tag, tag.Subject(), again)
		}
		if parsed, err := ParseTag(tag.String()); err != nil || parsed != tag {
			t.Fatalf("ParseTag(%q) = %v, %v", tag.String(), parsed, err)
		}
	})
}

// FuzzTokenMatches: a guessed token never matches another token's hash.
func FuzzTokenMatches(f *testing.F) {
	token, hash := NewStatusToken()
	f.Add(strings.Repeat("A", 43))
	f.Add(token[:42] + "B")
	f.Add("")
	f.Fuzz(func(t *testing.T, guess string) {
		if guess != token && TokenMatches(guess, hash) {
			t.Fatalf("%q matches another token's hash", guess)
		}
	})
}
