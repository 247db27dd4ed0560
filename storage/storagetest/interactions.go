package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/storage"
)

// testInteractions: an interaction is answered once, not late and not
// after it failed; ephemeral messages are kept per interaction and go
// with it; message components are set, replaced, read and cleared, and
// go with their message.
func testInteractions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	users := createUsers(t, s, 2)
	g := createGuild(t, s, "interactions", false)
	c := newChannel(g.ID, "general", 0)
	createChannels(t, s, c)
	update(t, s, func(tx storage.Tx) error {
		return tx.CreateApplication(ctx, storage.Application{ID: users[1].ID, OwnerID: users[0].ID, Name: "bot", CreatedAt: time.Now()})
	})
	created := time.UnixMilli(time.Now().UnixMilli()).UTC()
	i := storage.Interaction{ID: ids.Next(), ApplicationID: users[1].ID, TokenHash: "ab", Type: 2, UserID: users[0].ID,
		GuildID: g.ID, ChannelID: c.ID, Data: []byte(`{"nonce":"1"}`), CreatedAt: created}
	late := i
	late.ID = ids.Next()
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(tx.CreateInteraction(ctx, i), tx.CreateInteraction(ctx, late))
	})
	if got, err := s.Interaction(ctx, i.ID); err != nil || got.TokenHash != "ab" || !got.CreatedAt.Equal(created) || got.State != storage.InteractionWaiting {
		t.Fatalf("Interaction = %+v, %v", got, err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.AnswerInteraction(ctx, late.ID, created.Add(time.Second), 4, []byte(`{}`))
	}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a late answer = %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error {
		return tx.AnswerInteraction(ctx, i.ID, created, 4, []byte(`{"answered":true}`))
	})
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.AnswerInteraction(ctx, i.ID, created, 4, []byte(`{}`)) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a second answer = %v, want ErrNotFound", err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.FailInteraction(ctx, i.ID) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("failing an answered interaction = %v", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.FailInteraction(ctx, late.ID) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.AnswerInteraction(ctx, late.ID, created, 4, nil) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("answering a failed interaction = %v", err)
	}
	got, _ := s.Interaction(ctx, i.ID)
	if got.State != storage.InteractionAnswered || got.ResponseType != 4 || string(got.Data) != `{"answered":true}` {
		t.Fatalf("answered interaction = %+v", got)
	}
	em := storage.InteractionMessage{ID: ids.Next(), InteractionID: i.ID, Data: []byte(`{"content":"a"}`)}
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(tx.PutInteractionMessage(ctx, em), tx.SetInteractionOriginal(ctx, i.ID, em.ID, []byte(`{}`)))
	})
	em.Data = []byte(`{"content":"b"}`)
	update(t, s, func(tx storage.Tx) error { return tx.PutInteractionMessage(ctx, em) })
	if m, err := s.InteractionMessage(ctx, i.ID, em.ID); err != nil || string(m.Data) != `{"content":"b"}` {
		t.Fatalf("InteractionMessage = %+v, %v", m, err)
	}
	if _, err := s.InteractionMessage(ctx, late.ID, em.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("another interaction's message = %v", err)
	}
	if m, err := s.EphemeralMessage(ctx, em.ID); err != nil || m.InteractionID != i.ID || string(m.Data) != `{"content":"b"}` {
		t.Fatalf("EphemeralMessage = %+v, %v", m, err)
	}
	if _, err := s.EphemeralMessage(ctx, late.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("EphemeralMessage(not one) = %v", err)
	}
	// Files of an interaction: read back by ID, counted as referenced,
	// gone with their interaction.
	file := storage.Attachment{ID: ids.Next(), ChannelID: c.ID, Filename: "a.png", ContentType: "image/png", Size: 3,
		Hash: "interactionfilehash", Width: 2, Height: 1}
	update(t, s, func(tx storage.Tx) error { return tx.AddInteractionFiles(ctx, i.ID, []storage.Attachment{file}) })
	want := file
	want.MessageID = i.ID
	if got, err := s.InteractionFile(ctx, file.ID); err != nil || got != want {
		t.Fatalf("InteractionFile = %+v, %v; want %+v", got, err, want)
	}
	if refs, err := s.FileHashes(ctx); err != nil || !refs[file.Hash] {
		t.Fatalf("FileHashes misses an interaction's file: %v", err)
	}
	m := newMessage(c, users[1].ID, "with buttons")
	createMessages(t, s, m)
	mc := storage.MessageComponents{MessageID: m.ID, Components: []byte(`[{"type":1}]`), Interaction: []byte(`{"id":"1"}`)}
	update(t, s, func(tx storage.Tx) error { return tx.SetMessageComponents(ctx, mc) })
	mc.Interaction = nil
	update(t, s, func(tx storage.Tx) error { return tx.SetMessageComponents(ctx, mc) })
	if got, err := s.MessageComponents(ctx, m.ID); err != nil || string(got.Components) != `[{"type":1}]` || got.Interaction != nil {
		t.Fatalf("MessageComponents = %+v, %v", got, err)
	}
	update(t, s, func(tx storage.Tx) error {
		return tx.SetMessageComponents(ctx, storage.MessageComponents{MessageID: m.ID})
	})
	if _, err := s.MessageComponents(ctx, m.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("cleared components = %v", err)
	}
	var n int64
	update(t, s, func(tx storage.Tx) (err error) {
		n, err = tx.DeleteInteractionsBefore(ctx, created.Add(time.Millisecond))
		return err
	})
	if _, err := s.InteractionMessage(ctx, i.ID, em.ID); n != 2 || !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after deleting old interactions: %d deleted, message %v", n, err)
	}
	if _, err := s.InteractionFile(ctx, file.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a file of a deleted interaction = %v", err)
	}
	// Files added to a message after it was sent: only to a message of
	// the scope, and then read with it.
	other := createGuild(t, s, "other", false)
	add := []storage.Attachment{{ID: ids.Next(), Filename: "late.txt", Hash: "latefilehash", Size: 1}}
	if err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.AddAttachments(ctx, storage.Scope{GuildID: other.ID}, m.ID, add)
	}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("AddAttachments from another guild = %v", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.AddAttachments(ctx, storage.Scope{GuildID: g.ID}, m.ID, add) })
	if a, err := s.Attachment(ctx, add[0].ID); err != nil || a.MessageID != m.ID || a.ChannelID != c.ID || a.Filename != "late.txt" {
		t.Fatalf("added attachment = %+v, %v", a, err)
	}
}
