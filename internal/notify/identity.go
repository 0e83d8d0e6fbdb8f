package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// IdentityStateKey is the store State key holding the team's OpenPGP
// identity: the armored private key, without a passphrase, so that every
// vigil process can sign without a person typing one. The console writes
// it. A vigil process opens its store through package sealed, which keeps
// this entry encrypted with the secret key outside the database: a copy
// of the database alone does not let anyone sign as the team.
const IdentityStateKey = "notify/identity"

// LoadIdentity returns the team's identity from the store, nil when none
// was set yet.
// A stored key that does not parse is an error wrapping
// ErrBrokenIdentity.
func LoadIdentity(ctx context.Context, st StateReader) (*pgpmime.Identity, error) {
	raw, err := st.GetState(ctx, IdentityStateKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notify: team identity: %w", err)
	}
	id, err := pgpmime.ParseIdentity(string(raw), "")
	if err != nil {
		return nil, fmt.Errorf("notify: team identity: %w: %w", ErrBrokenIdentity, err)
	}
	return id, nil
}

// ErrBrokenIdentity is a stored team key that cannot be used.
var ErrBrokenIdentity = errors.New("stored team key unusable")
