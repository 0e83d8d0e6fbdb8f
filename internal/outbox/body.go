package outbox

// How a message's body is kept in the database: packed, so that a
// morning's digests (hundreds of MB of signed MIME, most of it base64 of
// CSV attachments) cost a fraction of that in writes, and read back byte
// for byte as it was signed.

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
)

// How a stored body is encoded (the body_codec column of outboxdb).
const (
	// BodyRaw is the body as it is sent: what messages queued before
	// packing existed hold.
	BodyRaw = 0
	// BodyPacked is PackBody's form.
	BodyPacked = 1
)

// base64Line and base64Text are the bytes and the characters of one full
// base64 line of a MIME part (RFC 2045: 76 characters).
const (
	base64Line = 57
	base64Text = 76
)

// PackBody returns body in BodyPacked form: full base64 lines are put
// back into the bytes they encode, and the result is compressed with S2
// (klauspost/compress). Base64 hides the repetitions of a CSV file from
// the compressor (each 3-byte group falls on one of three alignments)
// and costs a third more bytes: a benchmark digest of 1.18 MB packs into
// 396 KB, against 574 KB for S2 of the body as it is. S2 rather than
// zstd: zstd's fastest level made it 222 KB but cost three times the
// CPU, more than the writes it saved the commit (BenchmarkPackBody).
//
// Only lines of exactly 76 characters of the base64 alphabet, without
// padding, that end in CRLF are decoded: 76 such characters are exactly
// 57 bytes and every 57 bytes encode to exactly those characters, so
// UnpackBody restores every byte whatever the body holds, even a line of
// text that merely looks like base64.
//
// The packed stream is a series of pairs: a literal (uvarint length,
// bytes) and a run of decoded lines (count in four bytes, 57 bytes
// each), the last literal maybe without a run.
func PackBody(body []byte) []byte { return PackBodyRuns(body, nil) }

// Base64Run is a run of full base64 lines in a body, at Offset: lines of
// 76 characters of the standard alphabet, each ending in CRLF, which
// encode Data, 57 bytes a line.
type Base64Run struct {
	Offset int
	Data   []byte
}

// PackBodyRuns is PackBody for a body in which runs (in the order of
// their offsets) are known to lie, as the notifier knows where it put its
// attachments: their lines are taken from Data instead of being decoded
// again. The result is PackBody's, byte for byte, if the runs are what
// they say; the caller must know they are (a run that is not starts no
// line, or its Data is not a whole number of lines, is passed over).
func PackBodyRuns(body []byte, runs []Base64Run) []byte {
	return PackBodyRunsTo(nil, body, runs)
}

// PackBodyRunsTo is PackBodyRuns, its result in the array room returns
// for its length (an empty slice of at least that capacity), so that a
// caller that commits many messages can reuse the arrays of those it
// committed; with room nil, a new one.
func PackBodyRunsTo(room func(n int) []byte, body []byte, runs []Base64Run) []byte {
	scratch := packBuffers.Get().(*[2][]byte)
	defer packBuffers.Put(scratch)
	scratch[0] = pack(scratch[0][:0], body, runs)
	if n := s2.MaxEncodedLen(len(scratch[0])); cap(scratch[1]) < n {
		scratch[1] = make([]byte, n)
	}
	packed := s2.Encode(scratch[1][:cap(scratch[1])], scratch[0])
	if room == nil {
		return bytes.Clone(packed)
	}
	return append(room(len(packed))[:0], packed...)
}

// packBuffers hold the packed stream and its compressed form between
// calls: only the compressed bytes, copied, are kept.
var packBuffers = sync.Pool{New: func() any { return new([2][]byte) }}

// pack appends the packed stream of body, before compression, to dst,
// taking the lines of runs (PackBodyRuns) from their data. A run's line
// count is four bytes (little-endian) rather than a uvarint, so that its
// lines are decoded in place, their count written when the run ends.
func pack(dst, body []byte, runs []Base64Run) []byte {
	packed := slices.Grow(dst, len(body)*3/4+64)
	litStart := 0 // where the current literal starts in body
	count := -1   // where the current run's count is in packed, -1 outside a run
	lines := 0
	for i := 0; i < len(body); {
		for len(runs) > 0 && (runs[0].Offset < i || len(runs[0].Data) < base64Line) {
			runs = runs[1:] // passed over
		}
		known := 0 // lines known to start here
		if len(runs) > 0 && runs[0].Offset == i {
			known = min(len(runs[0].Data)/base64Line, (len(body)-i)/(base64Text+2))
			for j := range known {
				// Lines where the run says, or it is passed over.
				if end := i + j*(base64Text+2) + base64Text; body[end] != '\r' || body[end+1] != '\n' {
					known = 0
					runs = runs[1:]
					break
				}
			}
		}
		// A base64 line starts here if 76 characters and CRLF follow
		// that are all of the alphabet (which rules out "=" padding).
		if end := i + base64Text; end+2 <= len(body) && body[end] == '\r' && body[end+1] == '\n' {
			if count < 0 {
				// The literal before a run, and the room for its count.
				packed = binary.AppendUvarint(packed, uint64(i-litStart))
				packed = append(packed, body[litStart:i]...)
				count, lines = len(packed), 0
				packed = append(packed, 0, 0, 0, 0)
			}
			if known > 0 {
				// The lines of a run, as decoding them would give.
				packed = append(packed, runs[0].Data[:known*base64Line]...)
				lines += known
				i += known * (base64Text + 2)
				runs = runs[1:]
				continue
			}
			packed = slices.Grow(packed, base64Line)
			at := len(packed)
			packed = packed[:at+base64Line]
			if decodeBase64Line(packed[at:], body[i:end]) {
				lines++
				i = end + 2
				continue
			}
			packed = packed[:at]
		}
		if count >= 0 {
			binary.LittleEndian.PutUint32(packed[count:], uint32(lines))
			if lines == 0 {
				// No line decoded after all: the literal goes on.
				packed = packed[:count]
				packed = packed[:count-len(body[litStart:i])-uvarintLen(uint64(i-litStart))]
			} else {
				litStart = i
			}
			count = -1
		}
		j := bytes.IndexByte(body[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	if count >= 0 {
		binary.LittleEndian.PutUint32(packed[count:], uint32(lines))
		litStart = len(body)
	}
	if litStart < len(body) || len(packed) == len(dst) {
		// The last literal, without a run after it, ends the stream.
		packed = binary.AppendUvarint(packed, uint64(len(body)-litStart))
		packed = append(packed, body[litStart:]...)
	}
	return packed
}

// uvarintLen is the length of x as a uvarint.
func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// base64Values maps each character of the standard base64 alphabet to
// its six bits, and every other byte to 0xff.
var base64Values = func() (v [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range v {
		v[i] = 0xff
	}
	for i := range len(alphabet) {
		v[alphabet[i]] = byte(i)
	}
	return
}()

// decodeBase64Line decodes one full line of 76 characters into dst and
// reports whether they all were of the alphabet: a line at a time, four
// characters a step, without encoding/base64's checks for padding and
// line ends (a full line has neither), which made it the larger part of
// packing.
func decodeBase64Line(dst, text []byte) bool {
	dst, text = dst[:base64Line], text[:base64Text]
	var bad byte
	for i := range base64Text / 4 {
		a, b, c, d := base64Values[text[4*i]], base64Values[text[4*i+1]], base64Values[text[4*i+2]], base64Values[text[4*i+3]]
		bad |= a | b | c | d
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[3*i], dst[3*i+1], dst[3*i+2] = byte(v>>16), byte(v>>8), byte(v)
	}
	return bad&0xc0 == 0
}

// UnpackBody returns the body kept in codec form as stored; size is the
// body's length (Message.Size). A packed body must come back to exactly
// size bytes: what it claims is checked before anything is allocated, so
// a damaged row costs an error (wrapping ErrBadBody), never memory.
func UnpackBody(codec int, stored []byte, size int) ([]byte, error) {
	switch codec {
	case BodyRaw:
		return stored, nil
	case BodyPacked:
	default:
		return nil, fmt.Errorf("%w: unknown body encoding %d", ErrBadBody, codec)
	}
	// Packing never makes a body longer than a few bytes past its size
	// (a literal's length, a run's count of lines), and unpacking makes
	// at most 78 bytes of 57 (a full base64 line and its CRLF): a size
	// (read from the same row) beyond that is damage too, found before
	// it is allocated.
	if n, err := s2.DecodedLen(stored); err != nil || size < 0 || n > size+size/16+64 || size > n+n*21/57+64 {
		return nil, errCorrupt
	}
	packed, err := s2.Decode(nil, stored)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	body := make([]byte, 0, size)
	next := func() (int, error) {
		n, w := binary.Uvarint(packed)
		if w <= 0 || n > uint64(len(packed)-w) {
			return 0, errCorrupt
		}
		packed = packed[w:]
		return int(n), nil
	}
	for len(packed) > 0 {
		n, err := next()
		if err != nil {
			return nil, err
		}
		if len(body)+n > size {
			return nil, errCorrupt
		}
		body = append(body, packed[:n]...)
		packed = packed[n:]
		if len(packed) == 0 {
			break // a literal ends the body
		}
		if len(packed) < 4 {
			return nil, errCorrupt
		}
		lines := binary.LittleEndian.Uint32(packed)
		if packed = packed[4:]; uint64(lines) > uint64(len(packed)/base64Line) || uint64(len(body))+uint64(lines)*(base64Text+2) > uint64(size) {
			return nil, errCorrupt
		}
		for range lines {
			body = base64.StdEncoding.AppendEncode(body, packed[:base64Line])
			body = append(body, '\r', '\n')
			packed = packed[base64Line:]
		}
	}
	if len(body) != size {
		return nil, errCorrupt
	}
	return body, nil
}

// ErrBadBody is the error of a stored body that cannot be read back: a
// damaged row, or one kept in an encoding this version does not know.
var ErrBadBody = errors.New("outbox: the stored body cannot be read back")

var errCorrupt = fmt.Errorf("%w: the packed body is corrupt", ErrBadBody)
