package outbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
)

// mimeBase64 encodes data as a MIME part does: 76 characters a line, CRLF.
func mimeBase64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.String()
}

func TestPackBodyRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	}
	csv := bytes.Repeat([]byte("2026-12-04T01:25:37+00:00,11.156.65.68,3389,open-rdp,rdp\n"), 300)
	full := strings.Repeat("QUJD", 19) // one full line of base64 text
	cases := map[string]string{
		"empty":              "",
		"text only":          "Subject: hello\r\n\r\nNo attachment.\r\n",
		"no line end":        "Subject: hello",
		"base64 only":        mimeBase64(csv),
		"base64 exact lines": mimeBase64(random(57 * 4)),
		"attachment in the middle": "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			mimeBase64(csv) + "--x\r\n" + mimeBase64(random(1000)) + "--x--\r\n",
		"line of text that looks like base64": full + "\r\ntext\r\n" + full + "\r\n",
		"base64 line without CRLF at the end": "a\r\n" + full,
		"base64 line ending in LF only":       full + "\n" + full + "\r\n",
		"padded line of 76":                   strings.Repeat("QUJD", 18) + "QUI=\r\n",
		"line of 77":                          full + "Q\r\n",
		"bare CR and LF":                      "\r\r\n\n\r" + full + "\r\n\r",
		"binary":                              string(random(5000)),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			packed := PackBody([]byte(body))
			got, err := UnpackBody(BodyPacked, packed, len(body))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, []byte(body)) {
				t.Fatalf("unpacked body differs:\n got %q\nwant %q", got, body)
			}
		})
	}
	t.Run("full base64 lines are decoded", func(t *testing.T) {
		// 1000 full lines and a last one of 4 characters: the stream
		// holds the 57,000 bytes and the last line as it is.
		body := []byte(mimeBase64(random(57*1000 + 3)))
		if n := len(pack(nil, body, nil)); n > 57*1000+6+8 {
			t.Errorf("packed %d bytes of base64 into a stream of %d", len(body), n)
		}
	})
}

// TestPackBodyRuns: a body packed with the runs of base64 it holds is
// PackBody's, byte for byte, whether a run covers all of its lines or
// some (the rest decoded), ends on a line that is also full, or is wrong
// about where its lines are (passed over).
func TestPackBodyRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a, b := make([]byte, 57*40+20), make([]byte, 57*3)
	for _, d := range [][]byte{a, b} {
		for i := range d {
			d[i] = byte(r.IntN(256))
		}
	}
	head := "Content-Type: text/plain\r\n\r\nsome text\r\n" + strings.Repeat("x", 76) + "\r\n"
	mid := "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	body := []byte(head + mid + mimeBase64(a) + mid + mimeBase64(b) + "--b--\r\n")
	first := len(head) + len(mid)
	second := first + len(mimeBase64(a)) + len(mid)
	for name, runs := range map[string][]Base64Run{
		"every line":       {{first, a[:57*40]}, {second, b[:57*2]}},
		"some lines":       {{first, a[:57*7]}, {second, b[:57]}},
		"a full last line": {{second, b}},
		"one run":          {{first, a[:57*40]}},
		"not a line start": {{first + 1, a[:57*40]}, {second, b[:57*2]}},
		"misplaced lines":  {{first - len(mid), a[:57*40]}, {second, b[:57*2]}},
		"less than a line": {{first, a[:56]}},
	} {
		if got, want := PackBodyRuns(body, runs), PackBody(body); !bytes.Equal(got, want) {
			t.Errorf("%s: packed with the runs differs", name)
		}
		got, err := UnpackBody(BodyPacked, PackBodyRuns(body, runs), len(body))
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: unpacks to a different body (%v)", name, err)
		}
	} // The lines are taken from the runs' data, not decoded: data that
	// is not what the lines encode shows.
	if bytes.Equal(PackBodyRuns(body, []Base64Run{{first, b[:57]}}), PackBody(body)) {
		t.Error("a run's data is not used")
	}
}

// TestPackBodyGoldenMessages packs the notifier's golden messages, with
// their lines ending in LF as stored and in CRLF as sent: they read back
// byte for byte.
func TestPackBodyGoldenMessages(t *testing.T) {
	files, err := filepath.Glob("../notify/testdata/*.golden")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden messages: %v", err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range [][]byte{body, bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))} {
			got, err := UnpackBody(BodyPacked, PackBody(body), len(body))
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("%s: does not read back (%v)", f, err)
			}
		}
	}
}

func TestUnpackBodyRaw(t *testing.T) {
	got, err := UnpackBody(BodyRaw, []byte("as sent"), 7)
	if err != nil || string(got) != "as sent" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := UnpackBody(7, []byte("x"), 1); err == nil {
		t.Fatal("an unknown encoding read back")
	}
	if _, err := UnpackBody(BodyPacked, []byte("not zstd"), 8); err == nil {
		t.Fatal("a body that is not zstd read back")
	}
}

func FuzzPackBody(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n" + mimeBase64([]byte("some,csv\n1,2\n"))))
	f.Add([]byte(strings.Repeat("QUJD", 19) + "\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := UnpackBody(BodyPacked, PackBody(body), len(body))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("does not read back: %v", err)
		}
	})
}

// FuzzUnpackBody feeds UnpackBody packed streams it did not make: it
// fails or returns a body, never panics.
func FuzzUnpackBody(f *testing.F) {
	f.Add([]byte{0x05, 'h', 'e', 'l', 'l', 'o', 0x01})
	f.Add([]byte{0x00, 0x02})
	f.Fuzz(func(t *testing.T, packed []byte) {
		UnpackBody(BodyPacked, s2.Encode(nil, packed), 0)
	})
}

// TestUnpackBodyDamaged: a damaged packed body is an error wrapping
// ErrBadBody, decided before anything the row claims is allocated: a
// header claiming 4 GiB, a body longer or shorter than its size, an
// unknown encoding.
func TestUnpackBodyDamaged(t *testing.T) {
	body := []byte(strings.Repeat(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("vigil "), 19))+"\r\n", 40) + "tail")
	packed := PackBody(body)
	if got, err := UnpackBody(BodyPacked, packed, len(body)); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("the intact body: %v", err)
	}
	cases := map[string]struct {
		codec  int
		stored []byte
		size   int
	}{
		"a header claiming 4 GiB": {BodyPacked, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, 10},
		"longer than its size":    {BodyPacked, packed, len(body) - 1},
		"shorter than its size":   {BodyPacked, packed, len(body) + 1},
		"a negative size":         {BodyPacked, packed, -1},
		"a size claiming 4 GiB":   {BodyPacked, packed, 4 << 30},
		"an unknown encoding":     {7, packed, len(body)},
		"not S2 at all":           {BodyPacked, []byte("plain text"), 10},
	}
	for name, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := UnpackBody(c.codec, c.stored, c.size)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrBadBody) {
			t.Errorf("%s: %v, want ErrBadBody", name, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%s: %d bytes allocated to refuse it", name, n)
		}
	}
}

// TestPrepareMessageKeepsTheSizeOfALetGoBody: a message whose maker let
// its body go once packed keeps the Size it was given; any other gets
// len(Body).
func TestPrepareMessageKeepsTheSizeOfALetGoBody(t *testing.T) {
	body := []byte("Subject: x\r\n\r\nhello\r\n")
	packed := Message{Packed: PackBody(body), Size: len(body)}
	PrepareMessage(&packed, time.Now())
	if packed.Size != len(body) {
		t.Errorf("packed, body let go: Size %d, want %d", packed.Size, len(body))
	}
	whole := Message{Body: body, Packed: PackBody(body), Size: 3}
	PrepareMessage(&whole, time.Now())
	unpacked := Message{Body: body, Size: 3}
	PrepareMessage(&unpacked, time.Now())
	if whole.Size != len(body) || unpacked.Size != len(body) {
		t.Errorf("with the body: Size %d and %d, want %d", whole.Size, unpacked.Size, len(body))
	}
}
