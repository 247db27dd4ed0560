package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

// Threads. A public thread of a mirrored channel is a thread of the mirror
// channel, both ways, mapped as a channel (bridge_ids kind "channel"), so
// that its messages cross as any channel's. A thread started from a
// message is started from that message's counterpart. Private threads are
// not bridged: their members are chosen on one side only.
//
// A Discord thread's parent is kept as the named value
// "thread:<Discord thread>" = "<Discord parent>": the bridge posts in a
// thread through its parent's webhook, naming the thread (thread_id).
//
// A thread's name, archived and locked state cross both ways; the state
// last carried across, either way, is kept as "threadstate:<local
// thread>", so that a change coming back from the other side is not sent
// again (the echo of a thread update).

func threadKey(dthread string) string { return "thread:" + dthread }

func threadStateKey(local snowflake.ID) string { return "threadstate:" + local.String() }

// threadState is what crosses of a thread's state, as one comparable value.
func threadState(name string, archived, locked bool) string {
	return fmt.Sprintf("%t|%t|%s", archived, locked, name)
}

// bridgedThread reports whether a Discord channel type is a thread the
// bridge mirrors: public ones (and announcement threads).
func bridgedThread(t discordgo.ChannelType) bool {
	return t == discordgo.ChannelTypeGuildPublicThread || t == discordgo.ChannelTypeGuildNewsThread
}

// hookTarget is where the bridge posts to reach a Discord channel: the
// channel's own webhook, or, for a thread, its parent's naming the thread.
func (b *Bridge) hookTarget(ctx context.Context, dchan string) (hookChan, thread string, err error) {
	parent, ok, err := b.dom.Value(ctx, threadKey(dchan))
	if err != nil {
		return "", "", err
	}
	if ok {
		return parent, dchan, nil
	}
	return dchan, "", nil
}

// threadCtxKey carries, in a Discord call's context, the thread a webhook
// message lives in: Discord wants it as ?thread_id= on the webhook's edits
// and deletes, which discordgo cannot add.
type threadCtxKey struct{}

func withThread(ctx context.Context, thread string) context.Context {
	if thread == "" {
		return ctx
	}
	return context.WithValue(ctx, threadCtxKey{}, thread)
}

func threadOf(ctx context.Context) string {
	s, _ := ctx.Value(threadCtxKey{}).(string)
	return s
}

func (b *Bridge) onThreadCreate(_ *discordgo.Session, e *discordgo.ThreadCreate) {
	if e.Channel == nil {
		return
	}
	b.handle(e.GuildID, e.ParentID, "THREAD_CREATE", e.ID, func(ctx context.Context, l Link) error {
		return b.importThread(ctx, l, e.Channel)
	})
}

func (b *Bridge) onThreadUpdate(_ *discordgo.Session, e *discordgo.ThreadUpdate) {
	if e.Channel == nil {
		return
	}
	b.handle(e.GuildID, e.ParentID, "THREAD_UPDATE", e.ID, func(ctx context.Context, l Link) error {
		return b.importThread(ctx, l, e.Channel)
	})
}

func (b *Bridge) onThreadDelete(_ *discordgo.Session, e *discordgo.ThreadDelete) {
	if e.Channel == nil {
		return
	}
	b.handle(e.GuildID, e.ParentID, "THREAD_DELETE", e.ID, func(ctx context.Context, _ Link) error {
		local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, e.ID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			b.metrics.event("THREAD_DELETE", "ignored")
			return nil
		} else if err != nil {
			return err
		}
		if _, err := b.hs.DeleteThread(ctx, b.owner, local); err != nil && !errors.Is(err, homeserver.ErrUnknownChannel) {
			return err
		}
		b.metrics.event("THREAD_DELETE", "imported")
		return b.forgetThread(ctx, e.ID, local)
	})
}

// importThread mirrors a Discord thread (made on first sight, by its
// owner's puppet) and brings its name and state over. The bot's own
// threads are the relay's, mapped by it.
func (b *Bridge) importThread(ctx context.Context, l Link, th *discordgo.Channel) error {
	if !bridgedThread(th.Type) {
		b.metrics.event("THREAD_CREATE", "ignored")
		return nil
	}
	local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, th.ID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		if b.bot != nil && th.OwnerID == b.bot.ID {
			b.metrics.event("THREAD_CREATE", "echo")
			return nil
		}
		if local, err = b.startThread(ctx, l, th); err != nil || local == 0 {
			return err
		}
	} else if err != nil {
		return err
	}
	return b.importThreadState(ctx, local, th)
}

// startThread makes the mirror's thread of a Discord thread; 0 when its
// parent is not mirrored.
func (b *Bridge) startThread(ctx context.Context, l Link, th *discordgo.Channel) (snowflake.ID, error) {
	parent, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, th.ParentID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		b.metrics.event("THREAD_CREATE", "ignored")
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	p := b.owner
	if th.OwnerID != "" {
		dctx, cancel := ctxDiscord(ctx)
		u, err := b.session.User(th.OwnerID, discordgo.WithContext(dctx))
		cancel()
		if err != nil {
			return 0, err
		}
		if p, err = b.puppet(ctx, l, u, nil); err != nil {
			return 0, err
		}
	}
	// A thread started from a message has the message's ID, on Discord as
	// on Hearth.
	from, err := b.localMessage(ctx, th.ID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		from = 0
	} else if err != nil {
		return 0, err
	}
	in := homeserver.ThreadCreate{Name: th.Name, Type: int(discordgo.ChannelTypeGuildPublicThread)}
	if th.ThreadMetadata != nil {
		in.AutoArchive = th.ThreadMetadata.AutoArchiveDuration
	}
	// The parent is kept first: the import and its mapping commit
	// together, and a thread mapped must find its parent.
	if err := b.dom.SetValue(ctx, threadKey(th.ID), th.ParentID); err != nil {
		return 0, err
	}
	id, dup, err := b.dom.ImportThread(ctx, p, parent, from, th.ID, in)
	if errors.Is(err, homeserver.ErrMissingPermission) && p.User.ID != b.owner.User.ID {
		// Discord let its user; the mirror's owner stands in.
		id, dup, err = b.dom.ImportThread(ctx, b.owner, parent, from, th.ID, in)
	}
	if errors.Is(err, homeserver.ErrThreadExists) && from != 0 {
		// Made by a bridge that kept no mapping with it (before imports
		// were one transaction): the thread has the message's ID.
		id, err = from, b.dom.Map(ctx, homeserver.BridgeChannel, th.ID, from)
	}
	if err != nil {
		return 0, fmt.Errorf("import thread %s: %w", th.ID, err)
	}
	if dup {
		b.metrics.event("THREAD_CREATE", "duplicate")
		return id, nil
	}
	if err := b.failpoint(ctx, "import-thread-after-start"); err != nil {
		return 0, err
	}
	// The thread's messages are fetched by a catch-up from its start.
	if err := b.raiseHWM(ctx, th.ID, th.ID); err != nil {
		return 0, err
	}
	b.metrics.event("THREAD_CREATE", "imported")
	// The bot follows the thread, so that Discord tells it of every message
	// there; a failure is only logged (public threads are read anyway).
	dctx, cancel := ctxDiscord(ctx)
	defer cancel()
	if err := b.session.ThreadJoin(th.ID, discordgo.WithContext(dctx)); err != nil {
		b.log.Info("bridge: could not join a Discord thread", "thread", th.ID, "err", err)
	}
	return id, nil
}

// mapThread records a thread both sides have.
func (b *Bridge) mapThread(ctx context.Context, dthread, dparent string, local snowflake.ID) error {
	if err := b.dom.SetValue(ctx, threadKey(dthread), dparent); err != nil {
		return err
	}
	return b.dom.Map(ctx, homeserver.BridgeChannel, dthread, local)
}

// importThreadState brings a Discord thread's name, archived and locked
// state to the mirror's, as the mirror's owner; the same state again
// writes nothing.
func (b *Bridge) importThreadState(ctx context.Context, local snowflake.ID, th *discordgo.Channel) error {
	var archived, locked bool
	if md := th.ThreadMetadata; md != nil {
		archived, locked = md.Archived, md.Locked
	}
	want := threadState(th.Name, archived, locked)
	if err := b.dom.SetValue(ctx, threadStateKey(local), want); err != nil {
		return err
	}
	cur, err := b.hs.Thread(ctx, b.owner, local)
	if err != nil {
		return err
	}
	var up homeserver.ThreadUpdate
	changed := false
	if cur.Name != th.Name && th.Name != "" {
		up.Name, changed = homeserver.Optional[string]{Set: true, Value: th.Name}, true
	}
	if md := cur.ThreadMetadata; md != nil {
		if md.Archived != archived {
			up.Archived, changed = homeserver.Optional[bool]{Set: true, Value: archived}, true
		}
		if md.Locked != locked {
			up.Locked, changed = homeserver.Optional[bool]{Set: true, Value: locked}, true
		}
	}
	if !changed {
		return nil
	}
	if _, err := b.hs.UpdateThread(ctx, b.owner, local, up); err != nil {
		return fmt.Errorf("import thread state %s: %w", th.ID, err)
	}
	b.metrics.event("THREAD_UPDATE", "imported")
	return nil
}

// relayThreadCreate makes a Hearth person's public thread on Discord, by
// the bot (a webhook cannot): from the Discord counterpart of its message
// when it was started from one. A puppet's thread came from Discord.
//
// As a message's post, the start is preceded by an intent row
// ("threadintent:<local thread>" = the time): a bridge killed between
// Discord's answer and the mapping finds the row on restart (its cursor
// did not move past the event) and adopts the thread it made (adoptThread)
// instead of starting a second one.
func (b *Bridge) relayThreadCreate(ctx context.Context, l Link, payload json.RawMessage) error {
	var t discord.Channel
	if err := json.Unmarshal(payload, &t); err != nil || t.ParentID == nil || t.OwnerID == nil {
		return nil
	}
	if !bridgedThread(discordgo.ChannelType(t.Type)) {
		return nil
	}
	if _, err := b.dom.DiscordID(ctx, homeserver.BridgeChannel, t.ID); err == nil {
		return nil // Discord's, or relayed before a restart
	}
	owner, err := b.hs.User(ctx, *t.OwnerID)
	if err != nil || owner.Origin == "" {
		return nil
	}
	dparent, err := b.dom.DiscordID(ctx, homeserver.BridgeChannel, *t.ParentID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return nil
	} else if err != nil {
		return err
	}
	archive := 0
	if t.ThreadMetadata != nil {
		archive = t.ThreadMetadata.AutoArchiveDuration
	}
	from := ""
	if did, err := b.discordMessage(ctx, t.ID); err == nil {
		from = did
	}
	// The parent's lock covers the gateway's word of the new thread, which
	// must find the mapping.
	defer b.lockChannel(dparent)()
	key := threadIntentKey(t.ID)
	var th *discordgo.Channel
	if v, ok, err := b.dom.Value(ctx, key); err != nil {
		return err
	} else if ok {
		if th, err = b.adoptThread(ctx, l, dparent, from, t.Name, v); err != nil {
			return err
		}
	} else if err := b.dom.SetValue(ctx, key, strconv.FormatInt(time.Now().UnixMilli(), 10)); err != nil {
		return err
	}
	if th == nil {
		dctx, cancel := ctxDiscord(ctx)
		defer cancel()
		if from != "" {
			th, err = b.session.MessageThreadStartComplex(dparent, from, &discordgo.ThreadStart{Name: t.Name, AutoArchiveDuration: archive},
				discordgo.WithContext(dctx))
		} else {
			th, err = b.session.ThreadStartComplex(dparent, &discordgo.ThreadStart{Name: t.Name, AutoArchiveDuration: archive,
				Type: discordgo.ChannelTypeGuildPublicThread}, discordgo.WithContext(dctx))
		}
		if err != nil {
			return err
		}
		if err := b.failpoint(ctx, "relay-after-thread"); err != nil {
			return err
		}
	} else {
		b.metrics.relay("THREAD_CREATE", "adopted")
	}
	if err := b.mapThread(ctx, th.ID, dparent, t.ID); err != nil {
		return err
	}
	b.metrics.relay("THREAD_CREATE", "ok")
	if err := b.dom.SetValue(ctx, threadStateKey(t.ID), threadState(t.Name, false, false)); err != nil {
		return err
	}
	return b.dom.DeleteValue(ctx, key)
}

func threadIntentKey(local snowflake.ID) string { return "threadintent:" + local.String() }

// adoptThread finds, after a crash, the Discord thread the relay started
// for a Hearth thread without saving its mapping: the bot's thread in
// dparent of that name, unmapped, and either the one of the message it
// was started from or one made after the intent (less a minute for clock
// skew). It looks among the guild's active threads, then the parent's
// archived ones; nil when Discord has none (the start never reached it).
func (b *Bridge) adoptThread(ctx context.Context, l Link, dparent, from, name, since string) (*discordgo.Channel, error) {
	after := "0"
	if ms, err := strconv.ParseInt(since, 10, 64); err == nil {
		after = strconv.FormatUint(uint64(max(ms-60_000-discordEpoch, 0))<<22, 10)
	}
	dctx, cancel := ctxDiscord(ctx)
	defer cancel()
	active, err := b.session.GuildThreadsActive(l.DiscordGuild, discordgo.WithContext(dctx))
	if err != nil {
		return nil, err
	}
	lists := []*discordgo.ThreadsList{active}
	archived, err := b.session.ThreadsArchived(dparent, nil, 50, discordgo.WithContext(dctx))
	if err != nil && !notFound(err) {
		return nil, err
	}
	if archived != nil {
		lists = append(lists, archived)
	}
	for _, list := range lists {
		for _, th := range list.Threads {
			if th.ParentID != dparent || th.Name != name || (b.bot != nil && th.OwnerID != b.bot.ID) {
				continue
			}
			if from != "" && th.ID != from || from == "" && idLess(th.ID, after) {
				continue
			}
			if _, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, th.ID); err == nil {
				continue // another thread's
			}
			return th, nil
		}
	}
	return nil, nil
}

// relayThreadUpdate carries a mirror thread's new name or state to
// Discord, unless it is what last crossed (Discord's own change, come
// back).
func (b *Bridge) relayThreadUpdate(ctx context.Context, payload json.RawMessage) error {
	var t discord.Channel
	if err := json.Unmarshal(payload, &t); err != nil || t.ThreadMetadata == nil {
		return nil
	}
	dthread, err := b.dom.DiscordID(ctx, homeserver.BridgeChannel, t.ID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return nil
	} else if err != nil {
		return err
	}
	md := t.ThreadMetadata
	want := threadState(t.Name, md.Archived, md.Locked)
	cur, ok, err := b.dom.Value(ctx, threadStateKey(t.ID))
	if err != nil || (ok && cur == want) {
		return err
	}
	// Only what changed is sent: Discord asks MANAGE_THREADS of anyone
	// naming locked at all.
	var was struct {
		archived, locked bool
		name             string
	}
	if a, rest, found := strings.Cut(cur, "|"); found {
		l, name, _ := strings.Cut(rest, "|")
		was.archived, was.locked, was.name = a == "true", l == "true", name
	}
	edit := &discordgo.ChannelEdit{}
	if !ok || was.name != t.Name {
		edit.Name = t.Name
	}
	if !ok || was.archived != md.Archived {
		edit.Archived = &md.Archived
	}
	if ok && was.locked != md.Locked {
		edit.Locked = &md.Locked
	}
	dctx, cancel := ctxDiscord(ctx)
	defer cancel()
	if _, err := b.session.ChannelEditComplex(dthread, edit, discordgo.WithContext(dctx)); err != nil && !notFound(err) {
		return err
	}
	b.metrics.relay("THREAD_UPDATE", "ok")
	return b.dom.SetValue(ctx, threadStateKey(t.ID), want)
}

// relayThreadDelete deletes on Discord a mirror thread a Hearth person
// (with MANAGE_THREADS in the mirror) deleted; the bot needs
// MANAGE_THREADS there. The parent's lock is held from the mapping's
// check to its removal, as the import of Discord's THREAD_DELETE holds
// it: a thread deleted on Discord and so on Hearth is found unmapped here
// and not deleted again.
func (b *Bridge) relayThreadDelete(ctx context.Context, payload json.RawMessage) error {
	var d discord.ThreadDeleteEvent
	if err := json.Unmarshal(payload, &d); err != nil {
		return nil
	}
	dthread, err := b.dom.DiscordID(ctx, homeserver.BridgeChannel, d.ID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return nil
	} else if err != nil {
		return err
	}
	dparent, ok, err := b.dom.Value(ctx, threadKey(dthread))
	if err != nil || !ok {
		return err
	}
	defer b.lockChannel(dparent)()
	if _, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, dthread); errors.Is(err, homeserver.ErrBridgeUnmapped) {
		b.metrics.echoSuppressed()
		return nil // Discord's own delete, imported meanwhile
	} else if err != nil {
		return err
	}
	dctx, cancel := ctxDiscord(ctx)
	defer cancel()
	if _, err := b.session.ChannelDelete(dthread, discordgo.WithContext(dctx)); err != nil && !notFound(err) {
		return err
	}
	b.metrics.relay("THREAD_DELETE", "ok")
	return b.forgetThread(ctx, dthread, d.ID)
}

// forgetThread removes what the bridge keeps of a thread deleted on both
// sides.
func (b *Bridge) forgetThread(ctx context.Context, dthread string, local snowflake.ID) error {
	if err := b.dom.Unmap(ctx, homeserver.BridgeChannel, dthread); err != nil {
		return err
	}
	for _, k := range []string{threadKey(dthread), hwmKey(dthread), threadStateKey(local)} {
		if err := b.dom.DeleteValue(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
