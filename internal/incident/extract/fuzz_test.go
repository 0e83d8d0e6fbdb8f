package extract

import (
	"strings"
	"testing"
)

// FuzzFind checks that Find never panics, returns at most MaxObservables
// valid, distinct observables, and finds each of them again in its own
// value (a domain under a file name extension, which running text does not
// take, in a URL on it). Refang must be idempotent; FromHTML and a Finder
// that reads national phone numbers must keep to the same rules.
func FuzzFind(f *testing.F) {
	for _, seed := range []string{
		"hxxps://evil[.]com/login?x=1 and user (at) example (dot) org",
		"Call +32 2 123 45 67 or 0032 470 12 34 56; version 1.2.3.4; 10.0.0.1-10.0.0.5",
		"Tel: 02 123 45 67, gsm 0470/12.34.56, fax 03.12.2026 10:30",
		"d41d8cd98f00b204e9800998ecf8427e CVE-2021-44228 2001:db8::1 ::ffff:1.2.3.4",
		"[click](https://en.wikipedia.org/wiki/Foo_(bar)). <http://x.example.com/>",
		"p\u0430ypal.com http://\u0430pple.com/ info@bücher.de archive.zip https://download.zip/",
		"http://paypal.com@198.51.100.1:8080/x http://[2001:db8::2]/ [[.]] ( dot ) {at}",
		`<a href="https://evil.com/">https://bank.be/</a><img src=//cdn.evil.net/x>`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		refanged := Refang(text)
		if again := Refang(refanged); again != refanged {
			t.Fatalf("Refang not idempotent: %q -> %q -> %q", text, refanged, again)
		}
		found := Find(text)
		checkObservables(t, text, found)
		for _, o := range found {
			feed := o.Value
			if o.Kind == Domain && fileExtensions[feed[strings.LastIndexByte(feed, '.')+1:]] {
				feed = "http://" + feed + "/"
			}
			if !contains(Find(feed), o) {
				t.Fatalf("%v from %q is not found in %q: %v", o, text, feed, Find(feed))
			}
		}
		checkObservables(t, text, FromHTML(text))
		national := Finder{CountryCode: "32"}.Find(text)
		checkObservables(t, text, national)
		for _, o := range national {
			if o.Kind == Phone && !contains(Find(o.Value), o) {
				t.Fatalf("%v from %q is not found again", o, text)
			}
		}
	})
}

func checkObservables(t *testing.T, text string, found []Observable) {
	t.Helper()
	if len(found) > MaxObservables {
		t.Fatalf("%d observables", len(found))
	}
	seen := map[Observable]bool{}
	for _, o := range found {
		if !o.Kind.Valid() || o.Value == "" {
			t.Fatalf("invalid observable %v in %q", o, text)
		}
		if seen[o] {
			t.Fatalf("%v twice in %q", o, text)
		}
		seen[o] = true
	}
}

func contains(list []Observable, o Observable) bool {
	for _, x := range list {
		if x == o {
			return true
		}
	}
	return false
}
