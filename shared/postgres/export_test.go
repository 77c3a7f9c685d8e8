package postgres

// SetTextPostingBudget sets the store's full-text posting budget (textPostingBudget), so a
// test can reach it with a few chunks, and forgets the cached lexeme statistics.
func SetTextPostingBudget(s *Store, n int64) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.textBudget, s.stats = n, nil
}
