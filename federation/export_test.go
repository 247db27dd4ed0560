package federation

import "time"

// SetClock makes the key cache read the time from now, so that tests
// step over its backoffs instead of sleeping through them.
func (k *KeyCache) SetClock(now func() time.Time) { k.now = now }
