package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// testDeadLettersBulk adds and marks more letters at once than one
// statement of the shared layer names (it splits the ids), with the
// defaults a letter gets: a zero Time is the time it was added, a nil
// Input is empty (which SQLite reads back as nil). A letter added as retried is not pending.
func testDeadLettersBulk(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 1234
	letters := make([]store.DeadLetter, n)
	for i := range letters {
		// Each on its own line: the same input at the same line is one letter.
		letters[i] = store.DeadLetter{Feed: "bulk", Parser: "csv", Line: int64(i + 1), Error: "short line"}
	}
	letters = append(letters, store.DeadLetter{Feed: "done", Parser: "csv", Input: []byte("x"), Error: "e", Time: base, Retried: true})
	before := time.Now().Add(-time.Second)
	if err := s.AddDeadLetters(ctx, letters); err != nil {
		t.Fatalf("AddDeadLetters: %v", err)
	}
	after := time.Now().Add(time.Second)
	if letters[0].Input != nil || !letters[0].Time.IsZero() {
		t.Errorf("AddDeadLetters changed its argument: %+v", letters[0])
	}
	counts, err := s.CountDeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts["bulk"] != n {
		t.Errorf("CountDeadLetters = %v, want bulk:%d only", counts, n)
	}
	all, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "bulk", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("ListDeadLetters: %d letters, want %d", len(all), n)
	}
	ids := make([]int64, 0, n)
	for _, l := range all {
		if len(l.Input) != 0 || l.Time.Before(before) || l.Time.After(after) || l.Time.Location() != time.UTC {
			t.Fatalf("letter added with defaults = %+v, want an empty input and a time in UTC between %v and %v", l, before, after)
		}
		ids = append(ids, l.ID)
	}
	if err := s.MarkDeadLettersRetried(ctx, ids[1:]); err != nil {
		t.Fatalf("MarkDeadLettersRetried: %v", err)
	}
	counts, err = s.CountDeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts["bulk"] != 1 {
		t.Errorf("after marking all but one, CountDeadLetters = %v, want bulk:1", counts)
	}
	pending, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].ID != ids[0] {
		t.Errorf("pending letters = %+v, want only id %d", pending, ids[0])
	}
	done, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "done", IncludeRetried: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || !done[0].Retried || !done[0].Time.Equal(base) {
		t.Errorf("letter added as retried = %+v", done)
	}
}

// testDeadLetterKey adds the same letters twice, as a file ingested twice
// would: the second time adds nothing. The same input at another line or
// from another source is another letter.
func testDeadLetterKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	letter := func(source string, line int64, input string) store.DeadLetter {
		return store.DeadLetter{Feed: "F", Parser: "csv", Source: source, Line: line, Input: []byte(input), Error: "bad", Time: base}
	}
	first := []store.DeadLetter{letter("a.csv", 2, "x"), letter("a.csv", 3, "y"), letter("a.csv", 3, "y")}
	for i, want := range []int64{2, 0} {
		if n, err := s.RecordDeadLetters(ctx, first); err != nil || n != want {
			t.Fatalf("RecordDeadLetters, time %d: %d new, %v; want %d", i+1, n, err, want)
		}
	}
	if counts, err := s.CountDeadLetters(ctx); err != nil || counts["F"] != 2 {
		t.Fatalf("after adding the same letters twice, CountDeadLetters = %v, %v; want F:2", counts, err)
	}
	if n, err := s.RecordDeadLetters(ctx, []store.DeadLetter{letter("a.csv", 4, "x"), letter("b.csv", 2, "x"), letter("a.csv", 2, "x2")}); err != nil || n != 3 {
		t.Fatalf("RecordDeadLetters of letters at other lines or sources: %d new, %v; want 3", n, err)
	}
	all, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "F"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("%d letters, want 5: %+v", len(all), all)
	}
	oldest := all[len(all)-1]
	if oldest.Source != "a.csv" || oldest.Line != 2 || string(oldest.Input) != "x" {
		t.Errorf("oldest letter = %+v, want a.csv line 2", oldest)
	}
	got, err := s.GetDeadLetter(ctx, oldest.ID)
	if err != nil || got.ID != oldest.ID || got.Source != "a.csv" || got.Line != 2 || !got.Time.Equal(base) || !got.Pending() {
		t.Errorf("GetDeadLetter(%d) = %+v, %v", oldest.ID, got, err)
	}
	if _, err := s.GetDeadLetter(ctx, all[0].ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDeadLetter of a missing id: %v, want ErrNotFound", err)
	}
	// A discarded letter stays discarded when its file comes again.
	if n, err := s.DiscardDeadLetters(ctx, []int64{oldest.ID}, "alice", "test data"); err != nil || n != 1 {
		t.Fatalf("DiscardDeadLetters = %d, %v", n, err)
	}
	if err := s.AddDeadLetters(ctx, first); err != nil {
		t.Fatal(err)
	}
	if counts, err := s.CountDeadLetters(ctx); err != nil || counts["F"] != 4 {
		t.Errorf("after discarding one and adding its file again, CountDeadLetters = %v, %v; want F:4", counts, err)
	}
}

// testDeadLetterWork walks a letter through what a person does with it:
// a failed re-run recorded, an edit, a discard with a reason, and the
// filters that show discarded letters.
func testDeadLetterWork(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.AddDeadLetters(ctx, []store.DeadLetter{
		{Feed: "W", Parser: "csv", Source: "w.csv", Line: 2, Input: []byte("one"), Error: "bad", Time: base},
		{Feed: "W", Parser: "csv", Source: "w.csv", Line: 3, Input: []byte("two"), Error: "bad", Time: base},
		{Feed: "W", Parser: "csv", Source: "w.csv", Line: 4, Input: []byte("three"), Error: "bad", Time: base},
	}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "W"})
	if err != nil || len(list) != 3 {
		t.Fatalf("ListDeadLetters = %d letters, %v", len(list), err)
	}
	three, two, one := list[0].ID, list[1].ID, list[2].ID

	failed := base.Add(time.Minute)
	retryProblem := i18n.M("pipeline.reject.line", 1, i18n.M("event.reason.ip"))
	if err := s.FailDeadLetterRetry(ctx, one, "line 1: still not an IP address", retryProblem, failed); err != nil {
		t.Fatalf("FailDeadLetterRetry: %v", err)
	}
	got, err := s.GetDeadLetter(ctx, one)
	if err != nil || got.RetryError != "line 1: still not an IP address" || got.RetryProblem.Encode() != retryProblem.Encode() || !got.RetryTime.Equal(failed) || !got.Pending() {
		t.Errorf("after a failed re-run: %+v, %v", got, err)
	}

	if err := s.EditDeadLetter(ctx, one, []byte("one, fixed")); err != nil {
		t.Fatalf("EditDeadLetter: %v", err)
	}
	got, err = s.GetDeadLetter(ctx, one)
	if err != nil || string(got.Edited) != "one, fixed" || string(got.Input) != "one" || got.RetryError != "" || !got.RetryProblem.IsZero() || !got.RetryTime.IsZero() {
		t.Errorf("after an edit: %+v, %v; want the input kept, the edit beside it, the re-run error cleared", got, err)
	}
	if err := s.EditDeadLetter(ctx, one, bytes.Repeat([]byte("a"), store.MaxEditedDeadLetter+1)); !errors.Is(err, store.ErrInputTooLong) {
		t.Errorf("EditDeadLetter with a huge input: %v, want ErrInputTooLong", err)
	}
	if err := s.EditDeadLetter(ctx, one+1000, []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EditDeadLetter of a missing letter: %v, want ErrNotFound", err)
	}

	if _, err := s.DiscardDeadLetters(ctx, []int64{two}, "alice", " "); err == nil {
		t.Error("DiscardDeadLetters without a reason succeeded")
	}
	n, err := s.DiscardDeadLetters(ctx, []int64{two, three, two + 1000}, "alice", "test file, not a real report")
	if err != nil || n != 2 {
		t.Fatalf("DiscardDeadLetters = %d, %v; want 2", n, err)
	}
	if n, err := s.DiscardDeadLetters(ctx, []int64{two}, "bob", "again"); err != nil || n != 0 {
		t.Errorf("discarding a discarded letter = %d, %v; want 0", n, err)
	}
	got, err = s.GetDeadLetter(ctx, two)
	if err != nil || !got.Discarded || got.DiscardedBy != "alice" || got.DiscardReason != "test file, not a real report" || got.Pending() {
		t.Errorf("discarded letter = %+v, %v", got, err)
	}
	if err := s.EditDeadLetter(ctx, two, []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EditDeadLetter of a discarded letter: %v, want ErrNotFound", err)
	}
	if err := s.FailDeadLetterRetry(ctx, two, "x", i18n.Message{}, failed); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FailDeadLetterRetry of a discarded letter: %v, want ErrNotFound", err)
	}
	if counts, err := s.CountDeadLetters(ctx); err != nil || counts["W"] != 1 {
		t.Errorf("CountDeadLetters = %v, %v; want W:1", counts, err)
	}
	pending, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "W"})
	if err != nil || len(pending) != 1 || pending[0].ID != one {
		t.Errorf("pending letters = %+v, %v; want only %d", pending, err, one)
	}
	withDiscarded, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "W", IncludeDiscarded: true})
	if err != nil || len(withDiscarded) != 3 || !withDiscarded[0].Discarded || withDiscarded[2].Discarded {
		t.Errorf("letters with the discarded = %+v, %v", withDiscarded, err)
	}

	if err := s.FailDeadLetterRetry(ctx, one, "still bad", retryProblem, failed); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDeadLettersRetried(ctx, []int64{one}); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetDeadLetter(ctx, one)
	if err != nil || !got.Retried || got.RetryError != "" || !got.RetryProblem.IsZero() || got.Pending() {
		t.Errorf("after a successful re-run: %+v, %v; want retried, the old error gone", got, err)
	}
	everything, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "W", IncludeDiscarded: true, IncludeRetried: true})
	if err != nil || len(everything) != 3 {
		t.Errorf("all letters of W: %d, %v", len(everything), err)
	}
	long := strings.Repeat("x", 100)
	if n, err := s.DiscardDeadLetters(ctx, nil, "alice", long); err != nil || n != 0 {
		t.Errorf("DiscardDeadLetters of no ids = %d, %v", n, err)
	}
}

// testDeadLetterProblem keeps a letter's reason as a message beside its
// English, through both ways of adding (one letter, and a batch, which
// the PostgreSQL store inserts in one statement), with a message that
// quotes another and text from the input as an argument; a letter
// without one reads back without one.
func testDeadLetterProblem(t *testing.T, s store.Store) {
	ctx := t.Context()
	field := i18n.M("event.field.error", "source.ip", i18n.M("event.reason.ip"), `["event.reason.ip"] ünï`)
	problem := i18n.M("pipeline.reject.line", 7, field)
	letters := []store.DeadLetter{
		{Feed: "P", Parser: "csv", Line: 7, Input: []byte("a"), Error: problem.String(), Problem: problem, Time: base},
		{Feed: "P", Parser: "csv", Line: 8, Input: []byte("b"), Error: "short line", Time: base},
	}
	if err := s.AddDeadLetters(ctx, letters); err != nil {
		t.Fatalf("AddDeadLetters: %v", err)
	}
	if err := s.AddDeadLetters(ctx, []store.DeadLetter{{Feed: "P", Parser: "csv", Line: 9, Input: []byte("c"),
		Error: problem.String(), Problem: problem, Time: base}}); err != nil {
		t.Fatalf("AddDeadLetters: %v", err)
	}
	all, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "P"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("ListDeadLetters: %d letters, want 3", len(all))
	}
	for _, l := range all {
		want := problem
		if l.Line == 8 {
			want = i18n.Message{}
		}
		if l.Problem.Encode() != want.Encode() {
			t.Errorf("line %d: Problem = %s, want %s", l.Line, l.Problem.Encode(), want.Encode())
		}
		got, err := s.GetDeadLetter(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Problem.Encode() != want.Encode() || got.Error != l.Error {
			t.Errorf("GetDeadLetter(%d) = %q, %s; want %q, %s", l.ID, got.Error, got.Problem.Encode(), l.Error, want.Encode())
		}
	}
	c := i18n.Embedded()
	for _, l := range all {
		switch fr := l.Reason(c, "fr"); {
		case l.Line == 8 && fr != "short line":
			t.Errorf("line 8 said in French as %q, want its English", fr)
		case l.Line != 8 && (fr != problem.In(c, "fr") || fr == l.Error):
			t.Errorf("line %d said in French as %q, want %q", l.Line, fr, problem.In(c, "fr"))
		}
	}
}
