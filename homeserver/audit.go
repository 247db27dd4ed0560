package homeserver

import (
	"context"
	"encoding/json"
	"fmt"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Audit log action types, Discord's numbers.
const (
	AuditGuildUpdate      = 1
	AuditChannelCreate    = 10
	AuditChannelUpdate    = 11
	AuditChannelDelete    = 12
	AuditOverwriteCreate  = 13
	AuditOverwriteUpdate  = 14
	AuditOverwriteDelete  = 15
	AuditMemberKick       = 20
	AuditMemberBanAdd     = 22
	AuditMemberBanRemove  = 23
	AuditMemberUpdate     = 24
	AuditMemberRoleUpdate = 25
	AuditBotAdd           = 28
	AuditRoleCreate       = 30
	AuditRoleUpdate       = 31
	AuditRoleDelete       = 32
	AuditInviteCreate     = 40
	AuditInviteDelete     = 42
	AuditEmojiCreate      = 60
	AuditEmojiUpdate      = 61
	AuditEmojiDelete      = 62
)

// change is one changed key for the audit log.
func change(key string, old, new any) discord.AuditLogChange {
	return discord.AuditLogChange{Key: key, OldValue: old, NewValue: new}
}

// audit records who did what, in the transaction of the change itself.
func (h *Homeserver) audit(ctx context.Context, ev *events, guildID, actor snowflake.ID, action int,
	target snowflake.ID, changes []discord.AuditLogChange, options map[string]any) error {
	e := storage.AuditEntry{
		ID: h.cfg.IDs.Next(), GuildID: guildID, UserID: actor, ActionType: action, TargetID: target,
		Reason: reasonOf(ctx),
	}
	var err error
	if len(changes) > 0 {
		if e.Changes, err = json.Marshal(changes); err != nil {
			return fmt.Errorf("audit changes: %w", err)
		}
	}
	if len(options) > 0 {
		if e.Options, err = json.Marshal(options); err != nil {
			return fmt.Errorf("audit options: %w", err)
		}
	}
	if err := ev.tx.AddAuditEntry(ctx, e); err != nil {
		return err
	}
	// Told live to those who may read the audit log, as Discord's
	// GUILD_AUDIT_LOG_ENTRY_CREATE; the log itself is the record, so the
	// event is not logged.
	return ev.Ephemeral(guildID, AuditEntryCreated, auditEntryEvent{AuditLogEntry: discordAuditEntry(e), GuildID: guildID})
}

// AuditEntryCreated is the dispatch that tells of a new audit log entry.
const AuditEntryCreated = "GUILD_AUDIT_LOG_ENTRY_CREATE"

type auditEntryEvent struct {
	discord.AuditLogEntry
	GuildID snowflake.ID `json:"guild_id"`
}

func discordAuditEntry(e storage.AuditEntry) discord.AuditLogEntry {
	de := discord.AuditLogEntry{ID: e.ID, ActionType: e.ActionType, Reason: e.Reason, UserID: discord.NullableID(e.UserID)}
	if e.TargetID != 0 {
		s := e.TargetID.String()
		de.TargetID = &s
	}
	if len(e.Changes) > 0 {
		_ = json.Unmarshal(e.Changes, &de.Changes)
	}
	if len(e.Options) > 0 {
		_ = json.Unmarshal(e.Options, &de.Options)
	}
	return de
}

// AuditQuery filters the audit log.
type AuditQuery = storage.AuditQuery

// AuditLog reads a guild's audit log; VIEW_AUDIT_LOG is needed.
func (h *Homeserver) AuditLog(ctx context.Context, p Principal, guildID snowflake.ID, q AuditQuery) (discord.AuditLog, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return discord.AuditLog{}, err
	}
	if err := a.require(permission.ViewAuditLog); err != nil {
		return discord.AuditLog{}, err
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 50
	}
	entries, err := h.store.AuditLog(ctx, guildID, q)
	if err != nil {
		return discord.AuditLog{}, storeErr("audit log", err)
	}
	out := discord.AuditLog{
		ApplicationCommands: []any{}, AuditLogEntries: make([]discord.AuditLogEntry, 0, len(entries)),
		AutoModerationRules: []any{}, GuildScheduledEvents: []any{}, Integrations: []any{}, Threads: []any{},
		Users: []discord.User{}, Webhooks: []any{},
	}
	seen := map[snowflake.ID]bool{}
	for _, e := range entries {
		out.AuditLogEntries = append(out.AuditLogEntries, discordAuditEntry(e))
		for _, id := range []snowflake.ID{e.UserID, e.TargetID} {
			if id == 0 || seen[id] {
				continue
			}
			seen[id] = true
			if u, err := h.store.UserByID(ctx, id); err == nil {
				out.Users = append(out.Users, discordUser(u))
			}
		}
	}
	return out, nil
}
