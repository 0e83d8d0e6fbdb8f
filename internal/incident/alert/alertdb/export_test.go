package alertdb

// SetBetweenSteps sets the function Record runs between writing the
// alerts and moving the cursor: an error from it stands for a crash there.
func (s *Store) SetBetweenSteps(fn func() error) { s.betweenSteps = fn }
