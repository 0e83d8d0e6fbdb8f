package tlp

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]Label{
		"CLEAR": Clear, "clear": Clear, " TLP:amber+strict ": AmberStrict, "tlp:RED": Red,
		"WHITE": Clear, "tlp:white": Clear, "Green": Green,
	} {
		if got, ok := Parse(in); !ok || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "TLP:", "AMBER+", "BLACK", "TLP:TLP:RED", "amber strict"} {
		if got, ok := Parse(in); ok {
			t.Errorf("Parse(%q) = %q, accepted", in, got)
		}
	}
}

func TestRank(t *testing.T) {
	if Clear.Rank() != 0 || Red.Rank() != 4 || Label("").Rank() != -1 || Label("clear").Rank() != -1 {
		t.Error("ranks", Clear.Rank(), Red.Rank())
	}
	if !(Green.Rank() < Amber.Rank() && Amber.Rank() < AmberStrict.Rank()) {
		t.Error("order")
	}
	if Names() != "CLEAR, GREEN, AMBER, AMBER+STRICT, RED" || len(Strings()) != len(Labels) {
		t.Error(Names(), Strings())
	}
}
