package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// Writes in a user's name (spec/federation.md §14). An origin broadcasts
// the messages, edits and reactions this server's own users made in its
// guild or DM; they reached it as acts this server sent. So this server
// knows what its users asked for, and a replica accepts an event saying
// one of its users wrote, edited or reacted only when the event names an
// act it sent for that user, in that replica, of an action that makes
// such an event, once per kind of event. What the origin's moderators do
// (deleting, removing reactions, kicking, renaming) is the origin's own and
// is not checked.

// Kinds of event attributed to a user, as bits of storage.SentAct.Used.
const (
	// didPost: a message authored by the user (a send; the notice of a
	// pin they made).
	didPost = 1 << iota
	// didEdit: a change of the content or embeds of their message.
	didEdit
	// didReact: a reaction of theirs added.
	didReact
	// didStartThread: a thread they own created.
	didStartThread
)

// attributedActions are the actions whose events may attribute each kind
// to the acting user.
var attributedActions = map[int][]string{
	didPost:        {wire.ActSend, wire.ActPin},
	didEdit:        {wire.ActEdit},
	didReact:       {wire.ActReact},
	didStartThread: {wire.ActThread},
}

// RecordsActs reports whether an action can make an event attributed to
// the acting user, and so needs a record (storage.SentAct) before it is
// sent.
func RecordsActs(action string) bool {
	for _, as := range attributedActions {
		if slices.Contains(as, action) {
			return true
		}
	}
	return false
}

// messageActor is the user a message of a replica event says wrote it:
// its author. (A message without a user author, such as a webhook's,
// would return 0: nobody here to check.)
func messageActor(m discord.Message) snowflake.ID {
	return m.Author.ID
}

// inNameOf checks an event of the replica that says user did something of
// kind (about message, 0 when any): when user is one of this server's, the
// event must carry an act this server sent for them in this replica, of
// an action making that kind, not attributed that kind before. The act is
// then marked, in the batch's transaction, so a refused batch marks
// nothing.
func (ap *applier) inNameOf(ctx context.Context, user snowflake.ID, kind int, message snowflake.ID) error {
	if user == 0 {
		return nil
	}
	local, ok := ap.locals[user]
	if !ok {
		var err error
		if local, err = ap.localUser(ctx, user); err != nil {
			return err
		}
		ap.locals[user] = local
	}
	if !local {
		return nil
	}
	refuse := func(why string) error {
		return fmt.Errorf("event in the name of user %d (act %q): %s: %w", user, ap.act, why, ErrForbidden)
	}
	if ap.act == "" {
		return refuse("no act")
	}
	sa, err := ap.tx.SentAct(ctx, ap.act)
	if errors.Is(err, storage.ErrNotFound) {
		return refuse("not an act this server sent")
	}
	if err != nil {
		return err
	}
	switch {
	case sa.UserID != user || sa.LogID != ap.g.ID:
		return refuse("an act of another user or log")
	case !slices.Contains(attributedActions[kind], sa.Action):
		return refuse("an act of another action")
	case message != 0 && sa.MessageID != message:
		return refuse("an act about another message")
	case sa.Used&kind != 0:
		return refuse("an act used already")
	}
	if err := ap.tx.UseSentAct(ctx, sa.ID, sa.Used|kind); err != nil {
		return err
	}
	if kind == didPost {
		// Kept for good, so that a history page may show the message as
		// the user's once the act is forgotten (CheckHistoryAuthors).
		raw, origin, ok := globalid.Parse(ap.object)
		if !ok || origin != ap.g.Origin {
			return refuse("a message that is not the origin's")
		}
		return ap.tx.RecordAuthor(ctx, origin, raw, user)
	}
	return nil
}
