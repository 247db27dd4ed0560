package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/storage"
)

// testProfiles: a user's banner, pronouns and badge flags are kept and
// replaced; settings are absent until set, replaced whole, and listed as
// expired by their custom status's end, oldest first, up to the limit.
func testProfiles(t *testing.T, s storage.Store) {
	ctx := context.Background()
	us := createUsers(t, s, 3)
	a, b, c := us[0], us[1], us[2]

	a.Banner, a.Pronouns, a.Flags = "a_0123abcd", "they/them", 1<<9|1<<48
	update(t, s, func(tx storage.Tx) error { return tx.UpdateUser(ctx, a) })
	got, err := s.UserByID(ctx, a.ID)
	if err != nil || got.Banner != a.Banner || got.Pronouns != a.Pronouns || got.Flags != a.Flags {
		t.Fatalf("UserByID after update = %+v, %v", got, err)
	}
	if refs, err := s.FileHashes(ctx); err != nil || !refs[a.Banner] {
		t.Fatalf("FileHashes misses the banner %q: %v", a.Banner, err)
	}
	mirrored := newUser(Name("remote"))
	mirrored.Origin, mirrored.OriginID, mirrored.Pronouns, mirrored.Flags = "b.example", "77", "she/her", 1
	update(t, s, func(tx storage.Tx) error { return tx.CreateUser(ctx, mirrored) })
	if got, err := s.UserByID(ctx, mirrored.ID); err != nil || got.Pronouns != "she/her" || got.Banner != "" || got.Flags != 1 {
		t.Fatalf("UserByID(created with profile) = %+v, %v", got, err)
	}

	if _, err := s.UserSettings(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UserSettings(never set) = %v, want ErrNotFound", err)
	}
	base := time.UnixMilli(time.Now().UnixMilli()).UTC()
	rows := []storage.UserSettingsRow{
		{UserID: a.ID, Settings: `{"theme":"light"}`, CustomStatusExpiresAt: base.Add(2 * time.Second)},
		{UserID: b.ID, Settings: `{"status":"dnd"}`, CustomStatusExpiresAt: base.Add(time.Second)},
		{UserID: c.ID, Settings: `{}`},
	}
	update(t, s, func(tx storage.Tx) error {
		for _, r := range rows {
			if err := tx.SetUserSettings(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	for _, r := range rows {
		got, err := s.UserSettings(ctx, r.UserID)
		if err != nil || got.Settings != r.Settings || !got.CustomStatusExpiresAt.Equal(r.CustomStatusExpiresAt) {
			t.Fatalf("UserSettings(%d) = %+v, %v, want %+v", r.UserID, got, err, r)
		}
	}
	for _, tc := range []struct {
		at    time.Time
		limit int
		want  []storage.UserSettingsRow
	}{
		{base, 10, nil},
		{base.Add(time.Second), 10, rows[1:2]},
		{base.Add(time.Hour), 10, []storage.UserSettingsRow{rows[1], rows[0]}},
		{base.Add(time.Hour), 1, rows[1:2]},
	} {
		got, err := s.ExpiredCustomStatuses(ctx, tc.at, tc.limit)
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("ExpiredCustomStatuses(%v, %d) = %v, %v; want %d", tc.at, tc.limit, got, err, len(tc.want))
		}
		for i := range got {
			if got[i] != tc.want[i].UserID {
				t.Fatalf("ExpiredCustomStatuses(%v, %d) = %v", tc.at, tc.limit, got)
			}
		}
	}
	// Replacing the row clears the end.
	update(t, s, func(tx storage.Tx) error {
		return tx.SetUserSettings(ctx, storage.UserSettingsRow{UserID: b.ID, Settings: `{"status":"online"}`})
	})
	if got, err := s.UserSettings(ctx, b.ID); err != nil || got.Settings != `{"status":"online"}` || !got.CustomStatusExpiresAt.IsZero() {
		t.Fatalf("UserSettings after replace = %+v, %v", got, err)
	}
	if got, err := s.ExpiredCustomStatuses(ctx, base.Add(time.Hour), 10); err != nil || len(got) != 1 || got[0] != a.ID {
		t.Fatalf("ExpiredCustomStatuses after replace = %v, %v", got, err)
	}
}
