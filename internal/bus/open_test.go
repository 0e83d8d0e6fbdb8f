package bus

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestOpenSaysWhatFailed: when the reason from NATS would not say what
// failed (an address to listen on that is none, a stream the server
// will not make), Open's error says it in the reader's language, as the
// detail the caller puts after its sentence about the server; NATS's own
// reason stays last.
func TestOpenSaysWhatFailed(t *testing.T) {
	c := i18n.Embedded()
	for _, tt := range []struct {
		name string
		cfg  Config
		// en is the English; words are the English sentence's own,
		// which no other language may show.
		en, words string
	}{
		{"listen address", Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:nats", Stream: "TEST", MaxBytes: 64 << 20},
			"127.0.0.1:nats is not an address of the form host:port", "not an address"},
		// More than any disk holds: the embedded server refuses the stream.
		{"stream", Config{StoreDir: t.TempDir(), Stream: "TEST", MaxBytes: 1 << 60},
			"the stream TEST cannot be created or updated: insufficient storage resources available", "cannot be created"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Open(t.Context(), tt.cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				b.Close()
				t.Fatal("opened")
			}
			var be *Error
			if !errors.As(err, &be) || err.Error() != tt.en {
				t.Fatalf("err = %v, want an *Error saying %q", err, tt.en)
			}
			m, ok := i18n.Explain(err)
			if !ok {
				t.Fatalf("%v does not explain itself", err)
			}
			for _, lang := range []string{"nl", "fr", "de"} {
				if got := m.In(c, lang); strings.Contains(got, tt.words) || strings.Contains(got, "bus.error") {
					t.Errorf("%s: %q is English or an ID", lang, got)
				}
			}
		})
	}
}
