package i18n

import (
	"errors"
	"fmt"
	"testing"
)

// TestErrorLayers: an Error says the same English as the fmt.Errorf it
// replaces and the sentence in any language, quoting the error it wraps
// by its message, or by its English when that has none; Said looks at
// the error itself only, so a message under an fmt.Errorf layer is not
// taken for the whole.
func TestErrorLayers(t *testing.T) {
	c := Embedded()
	field := NewError("parser.reason.csv.unclosed")
	column := Wrap(field, "parser.reason.column", "ip")
	line := Wrap(column, "pipeline.reject.line", 3)
	if want := fmt.Errorf("line %d: %w", 3, fmt.Errorf("column %v: %w", "ip", errors.New("quoted value not closed"))); line.Error() != want.Error() {
		t.Errorf("English %q, want %q", line.Error(), want.Error())
	}
	if !errors.Is(line, field) {
		t.Error("the wrapped error is not in the chain")
	}
	if got, want := line.Explain().In(c, "fr"), "ligne 3 : colonne ip : valeur entre guillemets non fermée"; got != want {
		t.Errorf("in French %q, want %q", got, want)
	}

	plain := Wrap(errors.New("connection reset"), "pipeline.reject.line", 4)
	if got, want := plain.Explain().In(c, "de"), "Zeile 4: connection reset"; got != want {
		t.Errorf("an error without a message quoted as %q, want %q", got, want)
	}

	if _, ok := Said(fmt.Errorf("entry 2: %w", column)); ok {
		t.Error("Said took a message from under an fmt.Errorf layer")
	}
	if m, ok := Said(column); !ok || m.ID != "parser.reason.column" {
		t.Errorf("Said(column) = %v, %v", m, ok)
	}
	if r := Reason(errors.New("x")); r != "x" {
		t.Errorf("Reason of an error without a message = %v", r)
	}

	// Wrap does not write into the caller's arguments.
	args := make([]any, 1, 4)
	args[0] = "ip"
	_ = Wrap(field, "parser.reason.column", args...)
	if got := args[:2][1]; got != nil {
		t.Errorf("Wrap wrote %v into the caller's slice", got)
	}
}
