package auth

import "testing"

// FuzzParsePHC reads arbitrary stored-hash strings: no panic, and nothing
// accepted with costs outside the bounds that protect the server.
func FuzzParsePHC(f *testing.F) {
	h, _ := hashPassword("seed", PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	f.Add(h)
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=-1,t=0,p=0$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePHC(s)
		if err != nil {
			return
		}
		if p.Memory > 1<<21 || p.Time > 100 || p.Threads < 1 || len(salt) < 8 || len(key) < 16 {
			t.Fatalf("accepted %q with %+v", s, p)
		}
	})
}
