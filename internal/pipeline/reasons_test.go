package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// reasonParser rejects its lines for the reasons a parser gives: a
// field's refusal on a line, a reason without a message on a line, a
// reason without a message around one with (kept in English, whole), no
// reason, and a line too long to keep; an input named "fatal" fails as
// a whole.
type reasonParser struct{}

func (reasonParser) Parse(_ context.Context, in pipeline.Input, sink pipeline.Sink) error {
	if in.Name == "fatal.csv" {
		return i18n.NewError("parser.reason.csv.header.columns", "ip", "time, host")
	}
	if _, err := io.Copy(io.Discard, in.Body); err != nil {
		return err
	}
	_, field := event.Normalize("source.ip", "192.0.2")
	sink.Reject([]byte("a"), &pipeline.LineError{Line: 1, Err: i18n.Wrap(field, "parser.reason.column", "ip")})
	sink.Reject([]byte("b"), &pipeline.LineError{Line: 2, Err: errors.New("not an event")})
	sink.Reject([]byte("c"), fmt.Errorf("entry 3: %w", field))
	sink.Reject([]byte("d"), nil)
	sink.Reject([]byte(strings.Repeat("e", pipeline.MaxDeadLetterInput+1)), &pipeline.LineError{Line: 5, Err: field})
	return nil
}

type fetchOne struct{ feed, name string }

func (f fetchOne) Run(ctx context.Context, _ pipeline.Deliver) error { <-ctx.Done(); return nil }

func (f fetchOne) Fetch(ctx context.Context, deliver pipeline.Deliver) error {
	return deliver(ctx, pipeline.Input{Feed: f.feed, Name: f.name, Body: strings.NewReader("x\n")})
}

// TestDeadLetterReasonsInEveryLanguage: a letter keeps why it was
// refused as a message beside the English, as far as the reason has
// one, and the English is what it always was; a run's failed input
// keeps its message too.
func TestDeadLetterReasonsInEveryLanguage(t *testing.T) {
	st := openStore(t)
	r := newLimitedRunner(t, st, "reasons", reasonParser{}, pipeline.DeadLetterLimits{})
	if _, err := r.DeliverReport(t.Context(), pipeline.Input{Feed: "test", Name: "in.csv", Body: strings.NewReader("x\n")}); err != nil {
		t.Fatal(err)
	}
	c := i18n.Embedded()
	field := `field source.ip: not an IP address (value "192.0.2")`
	want := map[int64]struct {
		en       string
		message  bool
		inFrench string
	}{
		1: {"line 1: column ip: " + field, true, `ligne 1 : colonne ip : champ source.ip : pas une adresse IP (valeur "192.0.2")`},
		2: {"line 2: not an event", true, "ligne 2 : not an event"},
		0: {"", false, ""}, // entry 3 and the letter without a reason, below
		5: {"line 5: " + field + fmt.Sprintf(" (input of %d bytes; the dead letter keeps its first 4096)", pipeline.MaxDeadLetterInput+1), true,
			`ligne 5 : champ source.ip : pas une adresse IP (valeur "192.0.2") (entrée de ` + fmt.Sprint(pipeline.MaxDeadLetterInput+1) + ` octets ; l'entrée rejetée garde ses 4096 premiers)`},
	}
	letters := allLetters(t, st)
	if len(letters) != 5 {
		t.Fatalf("%d letters, want 5", len(letters))
	}
	for _, l := range letters {
		switch string(l.Input[:1]) {
		case "c":
			if l.Error != "entry 3: "+field || !l.Problem.IsZero() || l.Reason(c, "fr") != l.Error {
				t.Errorf("a reason around a message without its own: %q, %s; want the English whole", l.Error, l.Problem.Encode())
			}
			continue
		case "d":
			if l.Error != "rejected" || l.Reason(c, "fr") != "refusé" {
				t.Errorf("no reason: %q, said %q in French", l.Error, l.Reason(c, "fr"))
			}
			continue
		}
		w := want[l.Line]
		if l.Error != w.en || l.Problem.IsZero() != !w.message || (w.message && l.Problem.String() != w.en) {
			t.Errorf("line %d: %q (message %q), want %q", l.Line, l.Error, l.Problem.String(), w.en)
		}
		if got := l.Reason(c, "fr"); got != w.inFrench {
			t.Errorf("line %d in French: %q, want %q", l.Line, got, w.inFrench)
		}
		for _, lang := range []string{"nl", "de"} {
			if got := l.Reason(c, lang); got == l.Error || strings.Contains(got, "%!") {
				t.Errorf("line %d in %s: %q", l.Line, lang, got)
			}
		}
	}

	t.Run("a failed re-run", func(t *testing.T) {
		var first int64
		for _, l := range letters {
			if l.Line == 1 {
				first = l.ID
			}
		}
		results, err := r.RetryDeadLettersReport(t.Context(), []int64{first})
		if err != nil || len(results) != 1 || results[0].OK {
			t.Fatalf("re-run = %+v, %v; want it to fail again", results, err)
		}
		l, err := st.GetDeadLetter(t.Context(), first)
		if err != nil {
			t.Fatal(err)
		}
		// Without the line: the re-run reads the letter alone.
		en, fr := "column ip: "+field, `colonne ip : champ source.ip : pas une adresse IP (valeur "192.0.2")`
		if l.RetryError != en || l.RetryProblem.String() != en || l.RetryReason(c, "fr") != fr || results[0].Reason(c, "fr") != fr {
			t.Errorf("re-run failed for %q (message %q), in French %q; want %q, %q", l.RetryError, l.RetryProblem.String(), l.RetryReason(c, "fr"), en, fr)
		}
	})

	t.Run("a run's failed input", func(t *testing.T) {
		runs := &memoryRuns{}
		r := pipeline.NewRunner(pipeline.RunnerConfig{
			Env:       pipeline.Env{Store: st},
			Transport: pipeline.NewLocal(1), Outputs: []pipeline.Output{storeOutput{st}}, BatchSize: 10, Workers: 1, Runs: runs,
			Feeds: []*pipeline.Feed{{Name: "fatal", ParserID: "reasons", Parser: reasonParser{}, Collector: fetchOne{"fatal", "fatal.csv"}}},
		})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go r.Work(ctx)
		if err := r.RunNow(ctx, "fatal", "alice"); err == nil {
			t.Fatal("the run did not fail")
		}
		got := runs.get(0)
		en := "deliver fatal.csv to feed fatal: csv header has no column ip (it has: time, host)"
		if len(got.problems) != 1 || !strings.HasPrefix(got.err, en) || got.problems[0].String() != en {
			t.Fatalf("run = %+v, want its input's error %q with a message", got, en)
		}
		if fr := got.problems[0].In(c, "fr"); fr != "livrer fatal.csv au flux fatal : l'en-tête CSV n'a pas de colonne ip (il a : time, host)" {
			t.Errorf("in French: %q", fr)
		}
	})
}
