package incident

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Task is one thing to do on an incident, from a playbook or written by
// hand.
type Task struct {
	ID         int64
	IncidentID int64
	// Title is the task's text in the language of whoever added it.
	Title string
	// Playbook and Step name the playbook task it came from ("phishing",
	// "takedown"); both empty for a task written by hand.
	Playbook string
	Step     string
	Done     bool
	// By and At say who marked it done and when.
	By      string
	At      time.Time
	Created time.Time
}

// EntryKind is what a timeline entry records.
type EntryKind string

// The kinds of timeline entry.
const (
	EntryCreated      EntryKind = "created"
	EntryStatus       EntryKind = "status"
	EntryAssigned     EntryKind = "assigned"
	EntryField        EntryKind = "field"
	EntryReportLinked EntryKind = "report_linked"
	EntryMerged       EntryKind = "merged"
	EntrySplit        EntryKind = "split"
	EntryNote         EntryKind = "note"
	EntryMailIn       EntryKind = "mail_in"
	EntryMailOut      EntryKind = "mail_out"
	EntryTaskAdded    EntryKind = "task_added"
	EntryTaskDone     EntryKind = "task_done"
)

// EntryKinds lists every kind.
var EntryKinds = []EntryKind{EntryCreated, EntryStatus, EntryAssigned, EntryField, EntryReportLinked,
	EntryMerged, EntrySplit, EntryNote, EntryMailIn, EntryMailOut, EntryTaskAdded, EntryTaskDone, EntryEventsAdded}

// Entry is one line of an incident's timeline: everything that happened
// to it, in order.
type Entry struct {
	ID         int64
	IncidentID int64
	At         time.Time
	// Actor is the name of the account that did it, "" for Vigil itself
	// (grouping, intake).
	Actor string
	Kind  EntryKind
	// Text is what a person reads: a note, a reason, a mail's subject.
	Text string
	// Details are the machine-readable particulars: the field and its
	// old and new values, the report's id, the other incident.
	Details map[string]string
}

// Attachment is a file that came with a report or was added to an
// incident. Its content is a blob kept once per SHA-256 (content
// addressed); the attachment row names it.
type Attachment struct {
	SHA256      string // lower-case hex
	Name        string
	ContentType string
	Size        int64
}

// CheckAttachment checks an attachment's reference.
func CheckAttachment(a Attachment) error {
	if b, err := hex.DecodeString(a.SHA256); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != a.SHA256 {
		return inputError("incident.error.attachment.hash")
	}
	if a.Size < 0 || a.Size > MaxAttachmentBytes {
		return inputError("incident.error.attachment.size", MaxAttachmentBytes>>20)
	}
	if err := checkText("name", a.Name, MaxFieldBytes); err != nil {
		return err
	}
	return checkText("content type", a.ContentType, MaxFieldBytes)
}

// HashBlob returns the SHA-256 that names data, in lower-case hex.
func HashBlob(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Actor is who does something to an incident, as the timeline and the
// audit log name them.
type Actor struct {
	UserID int64
	Name   string
}

// ErrInput is what every *InputError is (errors.Is): the input was
// refused, and the error says why in words a person can act on.
var ErrInput = errors.New("incident: input refused")

// InputError is a refusal of input, with its text as a catalogue message
// so that the console and the API can say it in the reader's language.
type InputError struct {
	Message i18n.Message
}

// Refuse returns the refusal of input the catalogue message id says,
// with its arguments; the store refuses with it too.
func Refuse(id string, args ...any) *InputError { return inputError(id, args...) }

func inputError(id string, args ...any) *InputError {
	// The catalogue's arguments are plain strings and numbers: a Status
	// or a Kind is given as its text.
	for i, a := range args {
		if v := reflect.ValueOf(a); v.Kind() == reflect.String {
			args[i] = v.String()
		}
	}
	return &InputError{Message: i18n.M(id, args...)}
}

// Error returns the refusal in English.
func (e *InputError) Error() string { return e.Message.String() }

// Is makes every InputError ErrInput.
func (e *InputError) Is(target error) bool { return target == ErrInput }

// statusTokenBytes is the status token's randomness: 32 bytes, written
// in 43 characters of base64url.
const statusTokenBytes = 32

// NewStatusToken returns a new random status token and the SHA-256 that
// is stored in its place.
func NewStatusToken() (token string, hash []byte) {
	var b [statusTokenBytes]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, TokenHash(token)
}

// TokenHash returns the SHA-256 of a status token.
func TokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// TokenMatches reports whether token is the one whose hash is stored,
// comparing the hashes in constant time so that how long the answer
// takes says nothing of how much of a guess was right. A token of the
// wrong length or alphabet never matches.
func TokenMatches(token string, stored []byte) bool {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != statusTokenBytes || len(stored) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(TokenHash(token), stored) == 1
}

func oneOf[T comparable](v T, list []T) bool { return slices.Contains(list, v) }

func sortedUnique[T cmp.Ordered](list []T) []T {
	slices.Sort(list)
	return slices.Compact(list)
}
