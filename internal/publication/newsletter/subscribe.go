package newsletter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// Service is what the public pages and the console do with subscribers.
type Service struct {
	Store  Store
	Mails  *Mails
	Config Config
	// Kick tells the outbox a confirmation was queued; nil: none.
	Kick func()
	// Now replaces time.Now in tests.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Subscribe asks for a subscription of address in lang. It returns an
// *publication.InputError for an address or language that is refused,
// and otherwise nil, whether or not the address was known and whether or
// not a confirmation mail was queued: the form answers the same, so that
// nobody learns who subscribed.
func (s *Service) Subscribe(ctx context.Context, address, lang string, warnings bool) error {
	address, err := ParseAddress(address)
	if err != nil {
		return err
	}
	if !slices.Contains(s.Config.Languages, lang) {
		return publication.Refuse("lang", "newsletter.error.lang", lang)
	}
	secret, hash, err := newConfirmToken()
	if err != nil {
		return err
	}
	now := s.now()
	r := Request{Address: address, Lang: lang, Warnings: warnings, ConfirmHash: hash, At: now, Every: s.Config.ConfirmEvery}
	queued, err := s.Store.RequestSubscription(ctx, r, func(id int64) (outbox.Message, error) {
		return s.Mails.Confirmation(id, address, lang, secret, now)
	})
	if err != nil {
		return fmt.Errorf("newsletter: subscribe: %w", err)
	}
	if queued && s.Kick != nil {
		s.Kick()
	}
	return nil
}

// Confirm follows a confirmation link: the pending subscriber whose
// token it is becomes confirmed (a confirmed one stays so). ErrToken for
// a link that is wrong, used up or older than ConfirmValid. It is the
// POST of the page CheckConfirm shows, never the link's GET: mail
// gateways fetch the links of the mails they scan.
func (s *Service) Confirm(ctx context.Context, token string) (Subscriber, error) {
	id, secret, err := splitToken(token)
	if err != nil {
		return Subscriber{}, err
	}
	now := s.now()
	sub, err := s.Store.ChangeSubscriber(ctx, id, func(sub *Subscriber) error {
		if err := s.confirmable(sub, secret, now); err != nil || sub.Status == StatusConfirmed {
			return err
		}
		sub.Status, sub.Confirmed, sub.Changed = StatusConfirmed, now, now
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return Subscriber{}, ErrToken
	}
	return sub, err
}

// CheckConfirm returns the subscriber a confirmation link is for, as
// Confirm would find it, and changes nothing: the link's page, whose
// button confirms. ErrToken as for Confirm.
func (s *Service) CheckConfirm(ctx context.Context, token string) (Subscriber, error) {
	id, secret, err := splitToken(token)
	if err != nil {
		return Subscriber{}, err
	}
	sub, err := s.Store.GetSubscriber(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Subscriber{}, ErrToken
	}
	if err != nil {
		return Subscriber{}, err
	}
	if err := s.confirmable(&sub, secret, s.now()); err != nil {
		return Subscriber{}, err
	}
	return sub, nil
}

// confirmable says whether the link of secret confirms sub at now: its
// hash matches, and sub is confirmed already or pending since less than
// ConfirmValid.
func (s *Service) confirmable(sub *Subscriber, secret string, now time.Time) error {
	if !checkConfirm(secret, sub.ConfirmHash) {
		return ErrToken
	}
	if sub.Status == StatusConfirmed {
		return nil
	}
	if sub.Status != StatusPending || now.Sub(sub.ConfirmSent) > s.Config.ConfirmValid {
		return ErrToken
	}
	return nil
}

// CheckUnsubscribe returns the subscriber an unsubscribe link is for,
// ErrToken for a wrong link or a subscriber that no longer exists.
func (s *Service) CheckUnsubscribe(ctx context.Context, token string) (Subscriber, error) {
	id, err := CheckUnsubscribeToken(s.Mails.Secret, token)
	if err != nil {
		return Subscriber{}, err
	}
	sub, err := s.Store.GetSubscriber(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Subscriber{}, ErrToken
	}
	return sub, err
}

// Unsubscribe follows an unsubscribe link: the subscriber is
// unsubscribed (again, harmlessly, when it was already).
func (s *Service) Unsubscribe(ctx context.Context, token string) (Subscriber, error) {
	id, err := CheckUnsubscribeToken(s.Mails.Secret, token)
	if err != nil {
		return Subscriber{}, err
	}
	now := s.now()
	sub, err := s.Store.ChangeSubscriber(ctx, id, func(sub *Subscriber) error {
		if sub.Status != StatusUnsubscribed {
			sub.Status, sub.Changed = StatusUnsubscribed, now
		}
		sub.ConfirmHash = nil
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return Subscriber{}, ErrToken
	}
	return sub, err
}

// MarkBounced is the team marking an address as bouncing: it gets no
// more mail until it subscribes again.
func (s *Service) MarkBounced(ctx context.Context, id int64) (Subscriber, error) {
	now := s.now()
	return s.Store.ChangeSubscriber(ctx, id, func(sub *Subscriber) error {
		sub.Status, sub.Changed, sub.ConfirmHash = StatusBounced, now, nil
		return nil
	})
}

// MaskAddress shows an address as its first character, "…" and its
// domain (a…@example.org): enough for its owner to recognise it on the
// confirmation page, which anyone holding the link (a mail gateway that
// scans it) may see.
func MaskAddress(address string) string {
	local, domain, ok := strings.Cut(address, "@")
	if !ok || local == "" {
		return "…"
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + "…@" + domain
}
