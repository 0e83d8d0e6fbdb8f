package publication

// TEMPORARY: the console helper's guess at the lead's Service, removed
// before merging main. Never merged.

import (
	"context"
	"time"
)

type Actor struct {
	UserID int64
	Name   string
}

type Service struct {
	Store    Publications
	Languages []string
	Now      func() time.Time
}

func (s *Service) Create(ctx context.Context, a Actor, p Publication) (Publication, error) { return p, nil }
func (s *Service) Edit(ctx context.Context, a Actor, id int64, c Content, note string) (Publication, error) {
	return Publication{}, nil
}
func (s *Service) Submit(ctx context.Context, a Actor, id int64) (Publication, error) { return Publication{}, nil }
func (s *Service) Reject(ctx context.Context, a Actor, id int64, reason string) (Publication, error) {
	return Publication{}, nil
}
func (s *Service) Approve(ctx context.Context, a Actor, id int64) (Publication, error) { return Publication{}, nil }
func (s *Service) Schedule(ctx context.Context, a Actor, id int64, at time.Time) (Publication, error) {
	return Publication{}, nil
}
func (s *Service) Publish(ctx context.Context, a Actor, id int64) (Publication, error) { return Publication{}, nil }
func (s *Service) Withdraw(ctx context.Context, a Actor, id int64, reason string) (Publication, error) {
	return Publication{}, nil
}
