package constituencydb

// Creating, changing, deleting and importing organisations.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// bumpVersion increases the constituency version; every transaction that
// changes an organisation calls it first. In PostgreSQL the row lock it
// takes orders those transactions: they take their other locks in turn,
// so two of them cannot deadlock (an import creating the handle a
// concurrent create inserted would otherwise wait for it while holding
// what it waits for), and an import's reads stay true until it commits.
// SQLite has one writer, which orders them anyway. A transaction that fails
// rolls the bump back with everything else.
func bumpVersion(ctx context.Context, tx sqlkit.DB) error {
	if _, err := tx.Exec(ctx, `UPDATE constituency_version SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("bump constituency version: %w", err)
	}
	return nil
}

// CreateOrganisation stores o with everything it owns; it sets o.ID, the
// contacts' IDs, Created (when zero) and Updated, and normalizes o's
// networks, AS numbers and domains as they are stored. o is unchanged
// when it fails.
func (s *Store) CreateOrganisation(ctx context.Context, o *constituency.Organisation) error {
	next := *o
	next.Contacts = slices.Clone(o.Contacts)
	if err := constituency.StoreForm(&next); err != nil {
		return fmt.Errorf("constituency: create organisation: %w", err)
	}
	for i := range next.Contacts {
		next.Contacts[i].ID = 0
	}
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		return createOrganisation(ctx, tx, &next, store.RecordTime())
	})
	if err != nil {
		return fmt.Errorf("constituency: create organisation %s: %w", next.Handle, err)
	}
	*o = next
	return nil
}

// createOrganisation inserts a normalized o whose contacts carry no IDs;
// it sets o.ID, the times and the contacts' IDs.
func createOrganisation(ctx context.Context, tx sqlkit.DB, o *constituency.Organisation, at time.Time) error {
	if o.Created.IsZero() {
		o.Created = at
	}
	o.Updated, o.Disabled = at, false
	d := tx.Dialect()
	id, err := tx.Insert(ctx, `INSERT INTO organisations (handle, name, sector, country, language, notes, search, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Handle, o.Name, o.Sector, o.Country, o.Language, o.Notes, searchText(o), d.Time(o.Created), d.Time(at))
	if tx.IsUnique(err) {
		return fmt.Errorf("handle %s: %w", o.Handle, store.ErrConflict)
	}
	if err != nil {
		return err
	}
	o.ID = id
	if err := claimHandle(ctx, tx, o); err != nil {
		return err
	}
	return writeOwned(ctx, tx, o)
}

// claimHandle records o's handle as used, after o's own row: a handle
// recorded already belonged to a deleted organisation, and is refused. A
// delete of that organisation that committed while o's insert waited for
// it has recorded its handle by then.
func claimHandle(ctx context.Context, tx sqlkit.DB, o *constituency.Organisation) error {
	n, err := tx.Exec(ctx, `INSERT INTO organisation_handles (handle, org_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, o.Handle, o.ID)
	if err != nil {
		return fmt.Errorf("record handle %s: %w", o.Handle, err)
	}
	if n == 0 {
		return &constituency.RetiredHandleError{Handle: o.Handle}
	}
	return nil
}

// UpdateOrganisation replaces the organisation o.ID but its handle and
// Created, which it sets in o from the stored record, together with
// Updated and the contacts' IDs. ErrNotFound when absent.
func (s *Store) UpdateOrganisation(ctx context.Context, o *constituency.Organisation) error {
	var next constituency.Organisation
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		// Concurrent updates take turns on the version's row lock, each
		// reading what the previous one wrote.
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		current, err := getOrganisation(ctx, tx, `o.id = ?`, o.ID)
		if err != nil {
			return err
		}
		next = *o
		next.Handle, next.Created, next.Disabled = current.Handle, current.Created, current.Disabled
		next.Contacts = slices.Clone(o.Contacts)
		if err := constituency.StoreForm(&next); err != nil {
			return fmt.Errorf("%s: %w", current.Handle, err)
		}
		constituency.KeepContactIDs(current.Contacts, next.Contacts, false)
		if err := updateOrganisation(ctx, tx, &next, store.RecordTime()); err != nil {
			return fmt.Errorf("%s: %w", current.Handle, err)
		}
		return nil
	})
	if err != nil {
		return store.NotFound(err, fmt.Sprintf("constituency: update organisation %d", o.ID))
	}
	*o = next
	return nil
}

// updateOrganisation writes a normalized o over its stored record (o.ID)
// and sets o.Updated and its new contacts' IDs.
func updateOrganisation(ctx context.Context, tx sqlkit.DB, o *constituency.Organisation, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE organisations SET name = ?, sector = ?, country = ?, language = ?, notes = ?,
		search = ?, updated = ? WHERE id = ?`,
		o.Name, o.Sector, o.Country, o.Language, o.Notes, searchText(o), tx.Dialect().Time(at), o.ID); err != nil {
		return err
	}
	for _, table := range []string{"org_networks", "org_asns", "org_domains", "org_contacts"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE org_id = ?`, o.ID); err != nil {
			return fmt.Errorf("replace %s: %w", table, err)
		}
	}
	o.Updated = at
	return writeOwned(ctx, tx, o)
}

// DeleteOrganisation removes an organisation with what it owns (networks,
// AS numbers, domains, contacts and change requests) and retires its
// handle. The DeleteHooks given to New run in the same transaction: a
// hook's refusal (accounts that belong to the organisation: the error
// wraps ErrConflict) keeps everything as it was, and the others remove
// what their capability keeps under the organisation (its notification
// policy, pending notifications, the notifier's records and its entries
// in the index of events by organisation), so that nothing of it is found
// under its handle any more. The events keep extra.constituency: they are
// the record of what was seen.
func (s *Store) DeleteOrganisation(ctx context.Context, id int64) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		var handle string
		if err := tx.QueryRow(ctx, `SELECT handle FROM organisations WHERE id = ?`, id).Scan(&handle); err != nil {
			return err
		}
		if err := s.deleteOrganisation(ctx, tx, id, handle); err != nil {
			return fmt.Errorf("%s: %w", handle, err)
		}
		return nil
	})
	return store.NotFound(err, fmt.Sprintf("constituency: delete organisation %d", id))
}

// deleteOrganisation deletes the organisation id, whose handle is handle,
// with the hooks' parts, and retires its handle.
func (s *Store) deleteOrganisation(ctx context.Context, tx sqlkit.DB, id int64, handle string) error {
	if err := s.runRefuse(ctx, tx, id, handle); err != nil {
		return err
	}
	// The organisation's row before the hooks' Forget: in PostgreSQL its
	// lock makes a concurrent PutNotificationPolicy wait, then find no
	// organisation. Networks, AS numbers, domains, contacts and change
	// requests go by ON DELETE CASCADE.
	_, err := tx.Exec(ctx, `DELETE FROM organisations WHERE id = ?`, id)
	if tx.IsForeignKey(err) {
		// A row of another capability (an account) came to refer to it
		// after the hooks looked.
		return fmt.Errorf("records of another capability refer to it: %w", store.ErrConflict)
	}
	if err != nil {
		return err
	}
	if err := s.runForget(ctx, tx, id, handle); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO organisation_handles (handle, org_id, retired) VALUES (?, ?, ?)
		ON CONFLICT (handle) DO UPDATE SET retired = excluded.retired`, handle, id, tx.Dialect().Time(store.RecordTime())); err != nil {
		return fmt.Errorf("retire handle: %w", err)
	}
	return nil
}

// SetOrganisationDisabled disables the organisation id (or enables it
// again) and bumps the constituency version, so that the directory shows
// it; setting what is set already changes nothing. It reports whether it
// changed the organisation, read in the same transaction as the write, so
// that of two requests at once only one sees a change. ErrNotFound when
// absent.
func (s *Store) SetOrganisationDisabled(ctx context.Context, id int64, disabled bool) (bool, error) {
	changed := false
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		changed = false
		var current bool
		if err := tx.QueryRow(ctx, `SELECT disabled FROM organisations WHERE id = ?`, id).Scan(&current); err != nil {
			return err
		}
		if current == disabled {
			return nil
		}
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE organisations SET disabled = ?, updated = ? WHERE id = ?`,
			disabled, tx.Dialect().Time(store.RecordTime()), id); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, store.NotFound(err, fmt.Sprintf("constituency: set organisation %d disabled", id))
	}
	return changed, nil
}

// errUnchanged rolls back an import that changed nothing.
var errUnchanged = errors.New("unchanged")

// ImportOrganisations creates or updates every organisation of orgs by
// handle, and with replace deletes the others, in one transaction. An
// organisation that is the same as stored is left alone (not counted, its
// Updated kept); contacts without IDs keep those of stored contacts with
// the same e-mail address and role. Any error, an invalid or repeated
// handle among them, rolls all of it back.
func (s *Store) ImportOrganisations(ctx context.Context, orgs []constituency.Organisation, replace bool) (constituency.ImportResult, error) {
	var res constituency.ImportResult
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		res = constituency.ImportResult{}
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		all, err := listOrganisations(ctx, tx, ``, nil, true)
		if err != nil {
			return err
		}
		stored := make(map[string]*constituency.Organisation, len(all))
		for i := range all {
			stored[all[i].Handle] = &all[i]
		}
		seen := make(map[string]bool, len(orgs))
		at := store.RecordTime()
		for i := range orgs {
			o := orgs[i]
			o.Contacts = slices.Clone(o.Contacts)
			if err := constituency.StoreForm(&o); err != nil {
				return fmt.Errorf("entry %d: %w", i+1, err)
			}
			if seen[o.Handle] {
				return fmt.Errorf("entry %d: handle %s given twice: %w", i+1, o.Handle, store.ErrConflict)
			}
			seen[o.Handle] = true
			changed, err := importOne(ctx, tx, &o, stored[o.Handle], at)
			if err != nil {
				return fmt.Errorf("%s: %w", o.Handle, err)
			}
			switch {
			case stored[o.Handle] == nil:
				res.Created++
			case changed:
				res.Updated++
			}
		}
		if replace {
			for i := range all {
				if seen[all[i].Handle] {
					continue
				}
				if err := s.deleteOrganisation(ctx, tx, all[i].ID, all[i].Handle); errors.Is(err, store.ErrConflict) {
					return &constituency.DeleteRefusedError{Handle: all[i].Handle, Err: err}
				} else if err != nil {
					return fmt.Errorf("delete %s: %w", all[i].Handle, err)
				}
				res.Deleted++
			}
		}
		if res == (constituency.ImportResult{}) {
			// Nothing changed: the version bump is rolled back.
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return constituency.ImportResult{}, nil
	}
	if err != nil {
		return constituency.ImportResult{}, fmt.Errorf("constituency: import organisations: %w", err)
	}
	return res, nil
}

// importOne creates the normalized o when current (the stored organisation
// of its handle) is nil, or else writes it over current when they differ,
// and reports whether it wrote anything.
func importOne(ctx context.Context, tx sqlkit.DB, o, current *constituency.Organisation, at time.Time) (bool, error) {
	if current == nil {
		o.ID, o.Created = 0, time.Time{}
		for j := range o.Contacts {
			o.Contacts[j].ID = 0
		}
		return true, createOrganisation(ctx, tx, o, at)
	}
	o.ID, o.Created, o.Updated, o.Disabled = current.ID, current.Created, current.Updated, current.Disabled
	constituency.KeepContactIDs(current.Contacts, o.Contacts, true)
	if constituency.SameOrganisation(o, current) {
		return false, nil
	}
	return true, updateOrganisation(ctx, tx, o, at)
}

// ConstituencyVersion returns the version bumped by every organisation
// change.
func (s *Store) ConstituencyVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRow(ctx, `SELECT version FROM constituency_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("constituency: constituency version: %w", err)
	}
	return v, nil
}
