package sqlstore

import "hearth/storage"

// Queryer is what a reader runs its SQL on, for tests that watch it.
type Queryer = queryer

// ReaderOn is a reader of s's dialect that runs its SQL on q.
func ReaderOn(s *Store, q Queryer) storage.Reader { return reader{q: q, d: s.d} }
