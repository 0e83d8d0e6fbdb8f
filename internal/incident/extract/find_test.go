package extract

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// obs writes observables compactly: "url:http://x/", "domain:x.com".
func obs(specs ...string) []Observable {
	out := make([]Observable, 0, len(specs))
	for _, s := range specs {
		k, v, _ := strings.Cut(s, ":")
		out = append(out, Observable{Kind: Kind(k), Value: v})
	}
	return out
}

func show(list []Observable) string {
	var b strings.Builder
	for _, o := range list {
		fmt.Fprintf(&b, "\n\t%s:%s", o.Kind, o.Value)
	}
	return b.String()
}

func TestFindPhishingMails(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []Observable
	}{{
		name: "bank phishing forward",
		text: `---------- Forwarded message ---------
From: KBC Bank <security@kbc-veiligheid.com>
Date: Tue, 1 Dec 2026 at 09:14
Subject: Uw kaart wordt geblokkeerd

Beste klant,

Uw kaart wordt binnen 24 uur geblokkeerd. Bevestig uw gegevens via
https://kbc-veiligheid.com/nl/login.php?session=8f3a2c&ref=mail
of bel ons op +32 2 123 45 67.

Met vriendelijke groeten,
KBC Security Team`,
		want: obs("email:security@kbc-veiligheid.com", "domain:kbc-veiligheid.com",
			"url:https://kbc-veiligheid.com/nl/login.php?session=8f3a2c&ref=mail", "phone:+3221234567"),
	}, {
		name: "analyst write-up, defanged",
		text: `IOCs (TLP:AMBER)
- Landing page: hxxps://login-microsoftonline[.]com[.]auth-verify[.]xyz/common/oauth2?client_id=4765445b
- C2: 185.220.101[.]45:443 and 2a0b:f4c0:16c:2::1
- Sender: billing[@]docusign-notify[.]net (reply-to: j.smith (at) protonmail (dot) com)
- Attachment: Invoice_88213.zip (SHA256: 3A7BD3E2360A3D29EEA436FCFB7E44C735D117C42D1C1835420B6B9942DD4F1B)
- Exploits CVE-2023-23397 (Outlook), see https://msrc.microsoft.com/update-guide/vulnerability/CVE-2023-23397.
Hunting query version 2.1.0.3 on 10.20.30.40 (internal).`,
		want: obs("url:https://login-microsoftonline.com.auth-verify.xyz/common/oauth2?client_id=4765445b",
			"domain:login-microsoftonline.com.auth-verify.xyz", "ip:185.220.101.45", "ip:2a0b:f4c0:16c:2::1",
			"email:billing@docusign-notify.net", "domain:docusign-notify.net",
			"email:j.smith@protonmail.com", "domain:protonmail.com",
			"sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b", "cve:CVE-2023-23397",
			"url:https://msrc.microsoft.com/update-guide/vulnerability/CVE-2023-23397", "domain:msrc.microsoft.com",
			"ip:10.20.30.40"),
	}, {
		name: "headers of a forwarded mail",
		text: `Received: from mail.evil-sender.com (mail.evil-sender.com [203.0.113.77])
	by mx1.bank.be (Postfix) with ESMTPS id 4Rk2Xb1z; Tue, 1 Dec 2026 09:14:02 +0100 (CET)
Return-Path: <bounce-8821@evil-sender.com>
Message-ID: <20261201091402.ABC123@evil-sender.com>
X-Originating-IP: [198.51.100.12]`,
		want: obs("domain:mail.evil-sender.com", "ip:203.0.113.77", "domain:mx1.bank.be",
			"email:bounce-8821@evil-sender.com", "domain:evil-sender.com",
			"email:20261201091402.abc123@evil-sender.com", "ip:198.51.100.12"),
	}, {
		name: "parcel SMS with a shortener",
		text: "PostNL: uw pakket kon niet worden bezorgd. Betaal EUR 1,99 via https://bit.ly/3xYzAbC. Info: 0031 (0)20 123 4567",
		want: obs("url:https://bit.ly/3xYzAbC", "domain:bit.ly", "phone:+31201234567"),
	}, {
		name: "deceptive userinfo and a port",
		text: "Log in at http://www.paypal.com@198.51.100.23:8080/signin/ before Friday!",
		want: obs("url:http://www.paypal.com@198.51.100.23:8080/signin/", "ip:198.51.100.23"),
	}, {
		name: "markdown and angle brackets",
		text: "Links: [click here](https://login.microsoftonline.com.secure-auth.ru/oauth?x=1) and <http://update-account.net/verify>.",
		want: obs("url:https://login.microsoftonline.com.secure-auth.ru/oauth?x=1", "domain:login.microsoftonline.com.secure-auth.ru",
			"url:http://update-account.net/verify", "domain:update-account.net"),
	}, {
		name: "prose brackets and punctuation",
		text: "(see http://x.example.com/a). Also \"https://quoted.org/q?a=1\", and 'http://single.net/'; or http://end.com/path?",
		want: obs("url:http://x.example.com/a", "domain:x.example.com", "url:https://quoted.org/q?a=1", "domain:quoted.org",
			"url:http://single.net/", "domain:single.net", "url:http://end.com/path", "domain:end.com"),
	}, {
		name: "balanced brackets stay",
		text: "https://en.wikipedia.org/wiki/Phishing_(disambiguation) and (https://en.wikipedia.org/wiki/Spam_(food))",
		want: obs("url:https://en.wikipedia.org/wiki/Phishing_(disambiguation)", "domain:en.wikipedia.org",
			"url:https://en.wikipedia.org/wiki/Spam_(food)"),
	}, {
		name: "case and duplicates",
		text: "HTTPS://Evil.COM/Path and https://evil.com/Path, EVIL.com, Admin@Evil.Com",
		want: obs("url:https://evil.com/Path", "domain:evil.com", "email:admin@evil.com"),
	}, {
		name: "ftp and IPv6 hosts",
		text: "ftp://files.example.org/pub/x.exe http://[2001:DB8::2]:8080/x http://[::ffff:203.0.113.9]/",
		want: obs("url:ftp://files.example.org/pub/x.exe", "domain:files.example.org",
			"url:http://[2001:db8::2]:8080/x", "ip:2001:db8::2", "url:http://[::ffff:203.0.113.9]/", "ip:::ffff:203.0.113.9"),
	}, {
		name: "URLs in a list",
		text: "https://a.example.com,https://b.example.com;http://c.example.com/x,y",
		want: obs("url:https://a.example.com", "domain:a.example.com", "url:https://b.example.com", "domain:b.example.com",
			"url:http://c.example.com/x,y", "domain:c.example.com"),
	}, {
		name: "hosts that are no public names",
		text: "http://localhost:8080/admin http://intranet/ http://printer.local/ http://evil.com:port/ http://evil.com:65536/ done",
		want: nil,
	}, {
		name: "what lies inside a URL is not taken apart",
		text: "https://tracker.example.com/r?u=https://other.net/&mail=victim@bank.be",
		want: obs("url:https://tracker.example.com/r?u=https://other.net/&mail=victim@bank.be", "domain:tracker.example.com"),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Find(tc.text); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Find(%q):%s\nwant:%s", tc.text, show(got), show(tc.want))
			}
		})
	}
}

func TestFindDefanged(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []Observable
	}{
		{"hxxp://evil[.]com/login", obs("url:http://evil.com/login", "domain:evil.com")},
		{"hxxps://evil[.]com", obs("url:https://evil.com", "domain:evil.com")},
		{"hXXp://evil[.]com/", obs("url:http://evil.com/", "domain:evil.com")},
		{"HXXPS[:]//evil(.)com/a", obs("url:https://evil.com/a", "domain:evil.com")},
		{"hxxp[://]evil{.}com", obs("url:http://evil.com", "domain:evil.com")},
		{"fxp://files[.]evil[.]org/x", obs("url:ftp://files.evil.org/x", "domain:files.evil.org")},
		{"evil[dot]com and bad(DOT)net and worse [ . ] org", obs("domain:evil.com", "domain:bad.net", "domain:worse.org")},
		{"worse [ . ] org", obs("domain:worse.org")},
		{"sub.evil [.] co [.] uk", obs("domain:sub.evil.co.uk")},
		{"192.168.1[.]1 and 8[.]8[.]8[.]8", obs("ip:192.168.1.1", "ip:8.8.8.8")},
		{"user[@]evil[.]com", obs("email:user@evil.com", "domain:evil.com")},
		{"john (at) example (dot) org", obs("email:john@example.org", "domain:example.org")},
		{"john(at)example(dot)org", obs("email:john@example.org", "domain:example.org")},
		{"http[:]//1.2.3[.]4:8080/x", obs("url:http://1.2.3.4:8080/x", "ip:1.2.3.4")},
		{"hxxp://evil[.]com[/]login[.]php", obs("url:http://evil.com/login.php", "domain:evil.com")},
	} {
		if got := Find(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Find(%q):%s\nwant:%s", tc.text, show(got), show(tc.want))
		}
	}
}

func TestRefang(t *testing.T) {
	for in, want := range map[string]string{
		"hxxp://evil[.]com":       "http://evil.com",
		"hxxps[:]//a[.]b":         "https://a.b",
		"HXXP[://]a(dot)b":        "http://a.b",
		"fxp://a{.}b":             "ftp://a.b",
		"a [.] b":                 "a.b",
		"a ( dot ) b":             "a.b",
		"a [at] b":                "a@b",
		"[[.]]":                   ".",
		"the (a) list [1] {x}":    "the (a) list [1] {x}",
		"hxxp is not a scheme":    "hxxp is not a scheme",
		"shxxp://x":               "shxxp://x",
		"a . b (.) c":             "a . b.c",
		"evil.com[/]a[/]b":        "evil.com/a/b",
		"nothing to do":           "nothing to do",
		"(dot) alone, [.] alone.": ". alone, . alone.",
	} {
		got := Refang(in)
		if got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
		if again := Refang(got); again != got {
			t.Errorf("Refang(%q) = %q, not idempotent", got, again)
		}
	}
}

// TestFindFalsePositives holds texts that look like observables to a
// careless eye and are none.
func TestFindFalsePositives(t *testing.T) {
	for _, text := range []string{
		"Upgrade to version 1.2.3.4 now, or v2.0.1.5, build 10.0.19041.1, or 1.2.3.4.5.",
		"Firmware 4.3.2.1 is out.",
		"The meeting is on 03.12.2026 at 10:30, or 2026-12-03 14:00:00 UTC+1 (GMT+0100).",
		"Open invoice.pdf, report.docx, image.png, setup.exe, archive.zip, clip.mov, notes.one, README.md, main.rs, install.sh",
		"e.g. this, i.e. that, a.m. and p.m., etc. U.S. Mr.Smith... wait...what",
		"It costs $1.99, EUR 1,299.00, 3.50 EUR, 12.5%.",
		"I clicked the link.It was bad. Then the site.Next day",
		"MAC 00:1a:2b:3c:4d:5e, time 12:34:56, std::vector, Foo::Bar",
		"Order 12345678901234, IBAN BE71 0961 2345 6769, ref 0012345678901, +2 people",
		"Dates +2026-12-03, +2026/12/03, 2026-12-03T10:00:00+01:00, +01:00, 00 12 34",
		"Meet me (at) noon. The regex (.) matches any character.",
		"UUID 123e4567-e89b-12d3-a456-426614174000 and a_d41d8cd98f00b204e9800998ecf8427e_b and d41d8cd98f00b204e9800998ecf8427e0",
		"CVE-2021-44228.json and CVE-21-1",
		"http://localhost/ ftp://printer/ https:// http://-bad-.com/",
		"foo.invalidtld bar.example baz.test qux.localhost",
	} {
		if got := Find(text); len(got) != 0 {
			t.Errorf("Find(%q):%s\nwant nothing", text, show(got))
		}
	}
}

func TestFindKinds(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []Observable
	}{
		{"MD5 D41D8CD98F00B204E9800998ECF8427E", obs("md5:d41d8cd98f00b204e9800998ecf8427e")},
		{"abcdefabcdefabcdefabcdefabcdefab", obs("md5:abcdefabcdefabcdefabcdefabcdefab")},
		{"sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709.", obs("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709")},
		{"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
			obs("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")},
		{"Patch CVE-2021-44228, cve-2024-3094 and CVE-2024-1234567.", obs("cve:CVE-2021-44228", "cve:CVE-2024-3094", "cve:CVE-2024-1234567")},
		{"IPs 10.0.0.1:8080, 1.2.3.4/24 and 10.0.0.1-10.0.0.5.", obs("ip:10.0.0.1", "ip:1.2.3.4", "ip:10.0.0.5")},
		{"IPv6 2001:DB8::1, ::1, fe80::1 and ::ffff:1.2.3.4.", obs("ip:2001:db8::1", "ip:::1", "ip:fe80::1", "ip:::ffff:1.2.3.4")},
		{"Write to Jane.Doe+phish@Example.COM.", obs("email:jane.doe+phish@example.com", "domain:example.com")},
		{"mailto:abuse@isp.net?subject=x", obs("email:abuse@isp.net", "domain:isp.net")},
		{"Bare www.bank.de, shop.co.uk and Amazon.Com.", obs("domain:www.bank.de", "domain:shop.co.uk", "domain:amazon.com")},
		{"Call +32 2 123 45 67, +31 (0)20 123 4567, +1 (555) 123-4567.",
			obs("phone:+3221234567", "phone:+31201234567", "phone:+15551234567")},
		{"Or 0032 470 12 34 56, +49-30-1234567, +33.1.23.45.67.89, tel:+442071234567",
			obs("phone:+32470123456", "phone:+49301234567", "phone:+33123456789", "phone:+442071234567")},
		{"Bel\u00a0+32\u00a0470\u00a012\u00a034\u00a056 nu", obs("phone:+32470123456")},
	} {
		if got := Find(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Find(%q):%s\nwant:%s", tc.text, show(got), show(tc.want))
		}
	}
}

// TestFindHomographs checks that a look-alike host shows as the A-label
// it is, not as the brand it imitates.
func TestFindHomographs(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []Observable
	}{
		// "pаypal" with a Cyrillic а.
		{"Log in at p\u0430ypal.com today", obs("domain:xn--pypal-4ve.com")},
		{"https://\u0430pple.com/id", obs("url:https://xn--pple-43d.com/id", "domain:xn--pple-43d.com")},
		{"Grüße from münchen.de", obs("domain:xn--mnchen-3ya.de")},
		{"Schreib an info@bücher.de", obs("email:info@xn--bcher-kva.de", "domain:xn--bcher-kva.de")},
		{"xn--pypal-4ve.com", obs("domain:xn--pypal-4ve.com")},
	} {
		if got := Find(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Find(%q):%s\nwant:%s", tc.text, show(got), show(tc.want))
		}
	}
}

func TestFindFileExtensionsInsideURLsAndAddresses(t *testing.T) {
	got := Find("archive.zip at https://download.zip/archive.zip from admin@mail.mov")
	want := obs("url:https://download.zip/archive.zip", "domain:download.zip", "email:admin@mail.mov", "domain:mail.mov")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:%s\nwant:%s", show(got), show(want))
	}
}

func TestFindBounds(t *testing.T) {
	// More distinct observables than Find returns.
	var b strings.Builder
	for i := 0; i < 3*MaxObservables; i++ {
		fmt.Fprintf(&b, "host%d.example.com ", i)
	}
	got := Find(b.String())
	if len(got) != MaxObservables {
		t.Fatalf("%d observables, want %d", len(got), MaxObservables)
	}
	if got[0].Value != "host0.example.com" || got[MaxObservables-1].Value != fmt.Sprintf("host%d.example.com", MaxObservables-1) {
		t.Errorf("not the first ones: %v ... %v", got[0], got[MaxObservables-1])
	}

	// Nothing after MaxInput bytes is read.
	text := strings.Repeat("x", MaxInput-4) + " late.example.com"
	if got := Find(text); len(got) != 0 {
		t.Errorf("read past MaxInput: %v", got)
	}

	// A URL longer than MaxURLLength keeps only its host.
	long := "http://long.example.com/" + strings.Repeat("a", MaxURLLength) + " http://short.example.com/"
	want := obs("domain:long.example.com", "url:http://short.example.com/", "domain:short.example.com")
	if got := Find(long); !reflect.DeepEqual(got, want) {
		t.Errorf("long URL:%s\nwant:%s", show(got), show(want))
	}

	// FromHTML reads no more than Find does.
	page := strings.Repeat(`<p><a href="http://a.example.com/">x</a></p>`, 2*MaxInput/44)
	if got := FromHTML(page + `<a href="http://late.example.com/">`); len(got) != 2 {
		t.Errorf("FromHTML of %d bytes: %v", len(page), got)
	}

	// Cut in the middle of a character, the text stays valid.
	cut := capInput(strings.Repeat("é", 10), 5)
	if cut != "éé" {
		t.Errorf("capInput = %q", cut)
	}
}

func TestFinderNationalPhones(t *testing.T) {
	be := Finder{CountryCode: "32"}
	for _, tc := range []struct {
		text string
		want []Observable
	}{
		{"Tel: 02 123 45 67", obs("phone:+3221234567")},
		{"Bel mij op 0470/12.34.56 of mail", obs("phone:+32470123456")},
		{"GSM 0470 12 34 56, fax 02-123.45.67", obs("phone:+32470123456", "phone:+3221234567")},
		{"Call +31 20 123 4567 or 0032 2 123 45 67", obs("phone:+31201234567", "phone:+3221234567")},
		// No label, no grouping, a date, a time, too short or too long.
		{"Ref 02 123 45 67", nil},
		{"Tel: 021234567", nil},
		{"Tel: 03.12.2026 10:30", nil},
		{"Tel: 02 123 45", nil},
		{"Tel: 02 123 45 67 89 01 23", nil},
		{"Tel:\n02 123 45 67", nil},
	} {
		if got := be.Find(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Find(%q):%s\nwant:%s", tc.text, show(got), show(tc.want))
		}
	}
	// Without a country, or with a bad one, no national number is taken.
	for _, x := range []Finder{{}, {CountryCode: "032"}, {CountryCode: "+32"}, {CountryCode: "3212"}} {
		if got := x.Find("Tel: 02 123 45 67"); len(got) != 0 {
			t.Errorf("%+v: %v", x, got)
		}
	}
	if got := be.FromHTML("<p>Tel: <b>02 123 45 67</b></p>"); !reflect.DeepEqual(got, obs("phone:+3221234567")) {
		t.Errorf("FromHTML: %v", got)
	}
}

// TestFindCopiesValues checks that no value shares the memory of the text
// it was found in: an observable kept for long must not keep a whole mail.
func TestFindCopiesValues(t *testing.T) {
	text := "see https://evil.com/a, evil.org, d41d8cd98f00b204e9800998ecf8427e and CVE-2021-44228 "
	text = strings.Repeat(text, 2)
	start := uintptr(unsafe.Pointer(unsafe.StringData(text)))
	for _, o := range Find(text) {
		p := uintptr(unsafe.Pointer(unsafe.StringData(o.Value)))
		if p >= start && p < start+uintptr(len(text)) {
			t.Errorf("%v shares the text's memory", o)
		}
	}
}
