package storagetest

import (
	"context"
	"errors"
	"testing"

	"hearth/storage"
)

// testWebhooks: a webhook is read back as written, listed by channel and
// by guild, updated in place within its guild only, and goes with its
// channel; a webhook message keeps its webhook, name and avatar; the
// avatars a webhook used are kept for serving and for the blob sweep.
func testWebhooks(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g := createGuild(t, s, "Hooks", false)
	other := createGuild(t, s, "Other", false)
	a, b, foreign := newChannel(g.ID, "a", 0), newChannel(g.ID, "b", 1), newChannel(other.ID, "x", 0)
	createChannels(t, s, a, b, foreign)
	users := createUsers(t, s, 4)
	creator := users[0]
	w1 := storage.Webhook{ID: users[1].ID, GuildID: g.ID, ChannelID: a.ID, CreatorID: creator.ID, Name: "Captain Hook",
		Avatar: "abc", Token: "tok1", CreatedAt: at(t0)}
	w2 := storage.Webhook{ID: users[2].ID, GuildID: g.ID, ChannelID: b.ID, CreatorID: creator.ID, Name: "Spidey", Token: "tok2", CreatedAt: at(t0),
		ApplicationID: creator.ID}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateWebhook(ctx, w1); err != nil {
			return err
		}
		return tx.CreateWebhook(ctx, w2)
	})
	// A channel of another guild is not found, and nothing is written.
	err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.CreateWebhook(ctx, storage.Webhook{ID: users[3].ID, GuildID: g.ID, ChannelID: foreign.ID, CreatorID: creator.ID,
			Name: "x", Token: "t", CreatedAt: at(t0)})
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("CreateWebhook in another guild's channel = %v", err)
	}
	if _, err := s.Webhook(ctx, users[3].ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Webhook(refused) = %v", err)
	}
	if got, err := s.Webhook(ctx, w1.ID); err != nil || got != w1 {
		t.Fatalf("Webhook = %+v, %v; want %+v", got, err, w1)
	}
	if got, err := s.Webhook(ctx, w2.ID); err != nil || got != w2 {
		t.Fatalf("Webhook of an application = %+v, %v; want %+v", got, err, w2)
	}
	if list, err := s.ChannelWebhooks(ctx, a.ID); err != nil || len(list) != 1 || list[0] != w1 {
		t.Fatalf("ChannelWebhooks = %+v, %v", list, err)
	}
	if list, err := s.GuildWebhooks(ctx, g.ID); err != nil || len(list) != 2 {
		t.Fatalf("GuildWebhooks = %+v, %v", list, err)
	}
	// An update from another guild finds nothing; a move to another
	// guild's channel too.
	moved := w1
	moved.GuildID = other.ID
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.UpdateWebhook(ctx, moved) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UpdateWebhook from another guild = %v", err)
	}
	moved = w1
	moved.ChannelID = foreign.ID
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.UpdateWebhook(ctx, moved) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UpdateWebhook to another guild's channel = %v", err)
	}
	w1.Name, w1.Avatar, w1.ChannelID = "Hook", "", b.ID
	update(t, s, func(tx storage.Tx) error { return tx.UpdateWebhook(ctx, w1) })
	if got, err := s.Webhook(ctx, w1.ID); err != nil || got != w1 {
		t.Fatalf("after update: %+v, %v; want %+v", got, err, w1)
	}

	// Messages keep who posted them.
	m := storage.Message{ID: ids.Next(), ChannelID: b.ID, GuildID: g.ID, AuthorID: w1.ID, Content: "hooked",
		CreatedAt: at(t0), WebhookID: w1.ID, AuthorName: "Per message", AuthorAvatar: "def"}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateMessage(ctx, storage.ScopeOf(b), m); err != nil {
			return err
		}
		if err := tx.AddWebhookAvatar(ctx, w1.ID, "def"); err != nil {
			return err
		}
		return tx.AddWebhookAvatar(ctx, w1.ID, "def")
	})
	got, err := s.Message(ctx, b.ID, m.ID)
	if err != nil || got.WebhookID != w1.ID || got.AuthorName != "Per message" || got.AuthorAvatar != "def" {
		t.Fatalf("webhook message = %+v, %v", got, err)
	}
	if ok, err := s.WebhookHasAvatar(ctx, w1.ID, "def"); err != nil || !ok {
		t.Fatalf("WebhookHasAvatar(used) = %v, %v", ok, err)
	}
	if ok, err := s.WebhookHasAvatar(ctx, w2.ID, "def"); err != nil || ok {
		t.Fatalf("WebhookHasAvatar(of another webhook) = %v, %v", ok, err)
	}
	if hashes, err := s.FileHashes(ctx); err != nil || !hashes["def"] {
		t.Fatalf("FileHashes lacks a webhook avatar: %v", err)
	}

	// Delete: scoped by guild; a channel's deletion takes its webhooks.
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteWebhook(ctx, other.ID, w2.ID) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("DeleteWebhook from another guild = %v", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteWebhook(ctx, g.ID, w2.ID) })
	if _, err := s.Webhook(ctx, w2.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Webhook(deleted) = %v", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteChannel(ctx, storage.ScopeOf(b), b.ID) })
	if _, err := s.Webhook(ctx, w1.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Webhook of a deleted channel = %v", err)
	}
}
