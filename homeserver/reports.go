package homeserver

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Reports (spec/client-api.md, "Reports"): a user reports a message or a
// user. A message's report goes to the moderators of its guild on this
// server (MANAGE_MESSAGES) and to the instance administrators; a user's,
// and a DM message's, to the administrators. Reports stay on the
// reporter's server: one of a message in another server's guild is not
// forwarded to its origin, which would learn who reported.

// Report is a stored report.
type Report = storage.Report

// ReportQuery pages reports.
type ReportQuery = storage.ReportQuery

// Limits on reports.
const (
	ReportReasonMax     = 1000
	ReportResolutionMax = 1000
	reportLimit         = 10
	reportWindow        = 10 * time.Minute
)

// ReportInput is what a user reports: a message (ChannelID and MessageID)
// or a user (UserID), with a reason.
type ReportInput struct {
	ChannelID, MessageID, UserID snowflake.ID
	Reason                       string
}

// CreateReport stores p's report. The reporter must be able to read the
// message reported; at most reportLimit reports in reportWindow.
func (h *Homeserver) CreateReport(ctx context.Context, p Principal, in ReportInput) (Report, error) {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(in.Reason); n < 1 || n > ReportReasonMax {
		v.Add("reason", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", ReportReasonMax))
	}
	message := in.MessageID != 0 || in.ChannelID != 0
	switch {
	case message && in.UserID != 0:
		v.Add("user_id", "BASE_TYPE_INVALID", "Report a message or a user, not both.")
	case message && (in.MessageID == 0 || in.ChannelID == 0):
		v.Add("message_id", "BASE_TYPE_REQUIRED", "A message is named by channel_id and message_id.")
	case !message && in.UserID == 0:
		v.Add("user_id", "BASE_TYPE_REQUIRED", "Name a message (channel_id, message_id) or a user (user_id).")
	case in.UserID == p.User.ID:
		v.Add("user_id", "BASE_TYPE_INVALID", "You cannot report yourself.")
	}
	if err := v.Err(); err != nil {
		return Report{}, err
	}
	if err := h.reportLimits.take(p.User.ID.String(), h.now()); err != nil {
		return Report{}, err
	}
	r := Report{ID: h.cfg.IDs.Next(), ReporterID: p.User.ID, Reason: in.Reason, CreatedAt: h.now()}
	if message {
		// Read as the reporter reads it: one cannot report what one
		// cannot see.
		if _, err := h.Message(ctx, p, in.ChannelID, in.MessageID); err != nil {
			return Report{}, err
		}
		m, err := messageIn(ctx, h.store, in.ChannelID, in.MessageID)
		if err != nil {
			return Report{}, domainErr("report", err)
		}
		r.Kind, r.GuildID, r.ChannelID, r.MessageID, r.TargetUserID, r.Content = storage.ReportMessage, m.GuildID, m.ChannelID, m.ID, m.AuthorID, m.Content
	} else {
		if _, err := h.User(ctx, in.UserID); err != nil {
			return Report{}, err
		}
		r.Kind, r.TargetUserID = storage.ReportUser, in.UserID
	}
	if err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.CreateReport(ctx, r) }); err != nil {
		return Report{}, storeErr("report", err)
	}
	h.log.Info("report made", "report_id", r.ID, "kind", r.Kind, "guild_id", r.GuildID, "reporter", p.User.ID)
	return r, nil
}

// moderates checks that p moderates a guild here: 10004 for a non-member,
// 50013 without MANAGE_MESSAGES.
func (h *Homeserver) moderates(ctx context.Context, p Principal, guildID snowflake.ID) error {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return err
	}
	if !a.canGrant(permission.ManageMessages) {
		return fmt.Errorf("reports of guild %d: %w", guildID, ErrMissingPermission)
	}
	return nil
}

// GuildReports lists the reports of a guild's messages to its moderators.
func (h *Homeserver) GuildReports(ctx context.Context, p Principal, guildID snowflake.ID, q ReportQuery) ([]Report, error) {
	if err := h.moderates(ctx, p, guildID); err != nil {
		return nil, err
	}
	q.GuildID = guildID
	rs, err := h.store.Reports(ctx, q)
	if err != nil {
		return nil, storeErr("guild reports", err)
	}
	return rs, nil
}

// ResolveGuildReport marks a report of a guild's message resolved.
func (h *Homeserver) ResolveGuildReport(ctx context.Context, p Principal, guildID, reportID snowflake.ID, resolution string) (Report, error) {
	if err := h.moderates(ctx, p, guildID); err != nil {
		return Report{}, err
	}
	return h.resolveReport(ctx, p.User.ID, guildID, reportID, resolution)
}

// resolveReport resolves a report; in a guild (guildID not 0) only one of
// that guild's.
func (h *Homeserver) resolveReport(ctx context.Context, by, guildID, reportID snowflake.ID, resolution string) (Report, error) {
	if utf8.RuneCountInString(resolution) > ReportResolutionMax {
		return Report{}, Invalid("resolution", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", ReportResolutionMax))
	}
	var out Report
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		r, err := tx.ReportByID(ctx, reportID)
		if err != nil {
			return err
		}
		if guildID != 0 && r.GuildID != guildID {
			return storage.ErrNotFound
		}
		if err := tx.ResolveReport(ctx, reportID, by, h.now(), resolution); err != nil {
			return err
		}
		out, err = tx.ReportByID(ctx, reportID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return Report{}, fmt.Errorf("report %d: %w", reportID, ErrNotFound)
	}
	if err != nil {
		return Report{}, storeErr("resolve report", err)
	}
	return out, nil
}

// Reports lists every report (messages and users) to an administrator.
func (a *Admin) Reports(ctx context.Context, q ReportQuery) ([]Report, error) {
	q.GuildID = 0
	rs, err := a.h.store.Reports(ctx, q)
	if err != nil {
		return nil, storeErr("reports", err)
	}
	return rs, nil
}

// ResolveReport marks any report resolved.
func (a *Admin) ResolveReport(ctx context.Context, reportID snowflake.ID, resolution string) (Report, error) {
	return a.h.resolveReport(ctx, a.by, 0, reportID, resolution)
}
