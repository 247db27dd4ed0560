package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"hearth/snowflake"
	"hearth/storage"
)

// messageColumns are read with the table aliased as m, because the search
// and attachment queries join other tables that have an id too.
const messageColumns = `m.id, m.channel_id, m.guild_id, m.author_id, m.type, m.content, m.nonce, m.tts,
	m.mention_everyone, m.mentions, m.mention_roles, m.embeds, m.pinned, m.pinned_at, m.edited_at,
	m.reference_id, m.reference_channel_id, m.flags, m.created_at, m.origin, m.origin_id, m.webhook_id, m.author_name,
	m.author_avatar`

// messageInsertColumns are messageColumns without the alias, for INSERT.
var messageInsertColumns = strings.ReplaceAll(messageColumns, "m.", "")

// scanMessage scans messageColumns, then extra (such as a window count)
// into their own destinations.
func scanMessage(row scanner, extra ...any) (storage.Message, error) {
	var m storage.Message
	dest := append([]any{scanID(&m.ID), scanID(&m.ChannelID), scanID(&m.GuildID), scanID(&m.AuthorID), &m.Type,
		&m.Content, scanText(&m.Nonce), &m.TTS, &m.MentionEveryone, scanIDList(&m.Mentions),
		scanIDList(&m.MentionRoles), scanJSON(&m.Embeds), &m.Pinned, scanMS(&m.PinnedAt), scanMS(&m.EditedAt),
		scanID(&m.ReferenceID), scanID(&m.ReferenceChannelID), &m.Flags, scanMS(&m.CreatedAt),
		scanText(&m.Origin), scanText(&m.OriginID), scanID(&m.WebhookID), scanText(&m.AuthorName),
		scanText(&m.AuthorAvatar)}, extra...)
	err := row.Scan(dest...)
	// Never nil, so that a message without attachments encodes as [].
	m.Attachments = []storage.Attachment{}
	return m, err
}

func scanMessageRow(row scanner) (storage.Message, error) { return scanMessage(row) }

// idList encodes IDs as the JSON array of numbers the mention columns hold,
// "[]" for none: a JSON array rather than a bespoke list so that SQL can
// look inside it (json_each, jsonb) should a query ever need to.
func idList(ids []snowflake.ID) string {
	nums := make([]int64, len(ids))
	for i, id := range ids {
		nums[i] = int64(id)
	}
	b, _ := json.Marshal(nums) // a slice of int64 always marshals
	return string(b)
}

// idListDest scans an idList column; it never yields nil, so that a message
// without mentions encodes as [].
type idListDest struct{ p *[]snowflake.ID }

func (d idListDest) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		*d.p = []snowflake.ID{}
		return nil
	default:
		return fmt.Errorf("scan id list: unexpected %T", v)
	}
	var nums []int64
	if err := json.Unmarshal(b, &nums); err != nil {
		return fmt.Errorf("scan id list: %w", err)
	}
	out := make([]snowflake.ID, len(nums))
	for i, n := range nums {
		out[i] = snowflake.ID(n)
	}
	*d.p = out
	return nil
}

func scanIDList(p *[]snowflake.ID) idListDest { return idListDest{p} }

const attachmentColumns = `a.id, a.message_id, a.channel_id, a.filename, a.description, a.content_type, a.size,
	a.hash, a.width, a.height, a.origin_path`

var attachmentInsertColumns = strings.ReplaceAll(attachmentColumns, "a.", "")

func scanAttachment(row scanner) (storage.Attachment, error) {
	var a storage.Attachment
	err := row.Scan(scanID(&a.ID), scanID(&a.MessageID), scanID(&a.ChannelID), &a.Filename, &a.Description,
		&a.ContentType, &a.Size, &a.Hash, &a.Width, &a.Height, &a.OriginPath)
	return a, err
}

// loadAttachments fills in the attachments of messages with one query for
// the lot rather than one per message.
func (r reader) loadAttachments(ctx context.Context, ms []storage.Message) error {
	if len(ms) == 0 {
		return nil
	}
	ids := make([]snowflake.ID, len(ms))
	at := make(map[snowflake.ID]int, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
		at[m.ID] = i
	}
	as, err := queryAll(ctx, r, "message attachments", scanAttachment, `SELECT `+attachmentColumns+`
		FROM attachments a WHERE a.message_id IN (`+placeholders(1, len(ids))+`) ORDER BY a.message_id, a.id`,
		idArgs(ids)...)
	if err != nil {
		return err
	}
	for _, a := range as {
		i := at[a.MessageID]
		ms[i].Attachments = append(ms[i].Attachments, a)
	}
	return nil
}

// queryMessages runs a query that selects messageColumns and adds the
// messages' attachments.
func (r reader) queryMessages(ctx context.Context, op, query string, args ...any) ([]storage.Message, error) {
	ms, err := queryAll(ctx, r, op, scanMessageRow, query, args...)
	if err != nil {
		return nil, err
	}
	return ms, r.loadAttachments(ctx, ms)
}

// queryMessage is queryMessages for a query that must find one message.
func (r reader) queryMessage(ctx context.Context, op, query string, args ...any) (storage.Message, error) {
	m, err := scanMessage(r.q.QueryRowContext(ctx, query, args...))
	if err != nil {
		return storage.Message{}, r.wrap(op, err)
	}
	ms := []storage.Message{m}
	if err := r.loadAttachments(ctx, ms); err != nil {
		return storage.Message{}, err
	}
	return ms[0], nil
}

// Message implements storage.Reader.
func (r reader) Message(ctx context.Context, channelID, id snowflake.ID) (storage.Message, error) {
	return r.queryMessage(ctx, "message", `SELECT `+messageColumns+` FROM messages m
		WHERE m.channel_id = $1 AND m.id = $2`, int64(channelID), int64(id))
}

// defaultHistoryLimit is Discord's default page of history, used should a
// caller pass no limit.
const defaultHistoryLimit = 50

// Messages implements storage.Reader. Every page is a range scan of
// messages_channel. After takes the oldest Limit messages above the ID (the
// ones right after it, so that paging forward leaves no gap) and Around
// splits Limit as Limit/2 newer than the ID and the rest at or before it,
// the ID itself included; both are then returned newest first like the
// others.
func (r reader) Messages(ctx context.Context, channelID snowflake.ID, q storage.MessageQuery) ([]storage.Message, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultHistoryLimit
	}
	const from = `SELECT ` + messageColumns + ` FROM messages m WHERE m.channel_id = $1`
	switch {
	case q.Around != 0:
		newer := limit / 2
		return r.queryMessages(ctx, "messages around", `SELECT * FROM (`+from+` AND m.id > $2 ORDER BY m.id LIMIT $3) AS newer
			UNION ALL SELECT * FROM (`+from+` AND m.id <= $2 ORDER BY m.id DESC LIMIT $4) AS older
			ORDER BY id DESC`, int64(channelID), int64(q.Around), newer, limit-newer)
	case q.After != 0:
		return r.queryMessages(ctx, "messages after", `SELECT * FROM (`+from+` AND m.id > $2 ORDER BY m.id LIMIT $3) AS page
			ORDER BY id DESC`, int64(channelID), int64(q.After), limit)
	case q.Before != 0:
		return r.queryMessages(ctx, "messages before", from+` AND m.id < $2 ORDER BY m.id DESC LIMIT $3`,
			int64(channelID), int64(q.Before), limit)
	default:
		return r.queryMessages(ctx, "messages", from+` ORDER BY m.id DESC LIMIT $2`, int64(channelID), limit)
	}
}

// MessageByNonce implements storage.Reader. An empty nonce is stored as
// NULL, so it never matches.
func (r reader) MessageByNonce(ctx context.Context, channelID, authorID snowflake.ID, nonce string, since time.Time) (storage.Message, error) {
	return r.queryMessage(ctx, "message by nonce", `SELECT `+messageColumns+` FROM messages m
		WHERE m.channel_id = $1 AND m.author_id = $2 AND m.nonce = $3 AND m.created_at >= $4
		ORDER BY m.id DESC LIMIT 1`, int64(channelID), int64(authorID), nonce, ms(since))
}

// LastMessageBy implements storage.Reader.
func (r reader) LastMessageBy(ctx context.Context, channelID, authorID snowflake.ID) (storage.Message, error) {
	return r.queryMessage(ctx, "last message by", `SELECT `+messageColumns+` FROM messages m
		WHERE m.channel_id = $1 AND m.author_id = $2 ORDER BY m.id DESC LIMIT 1`, int64(channelID), int64(authorID))
}

// PinnedMessages implements storage.Reader. The bare "m.pinned" matches the
// WHERE of the partial index messages_pinned, which is what lets SQLite use
// it.
func (r reader) PinnedMessages(ctx context.Context, channelID snowflake.ID) ([]storage.Message, error) {
	return r.queryMessages(ctx, "pinned messages", `SELECT `+messageColumns+` FROM messages m
		WHERE m.channel_id = $1 AND m.pinned ORDER BY m.pinned_at DESC, m.id DESC`, int64(channelID))
}

// Reactions implements storage.Reader: one grouped query for every message.
// Emoji first used in the same millisecond are ordered bytewise (the
// PostgreSQL column is COLLATE "C"), so both databases agree.
func (r reader) Reactions(ctx context.Context, messageIDs []snowflake.ID, viewer snowflake.ID) ([]storage.ReactionCount, error) {
	if len(messageIDs) == 0 {
		return nil, nil
	}
	args := append([]any{int64(viewer)}, idArgs(messageIDs)...)
	return queryAll(ctx, r, "reactions", func(row scanner) (storage.ReactionCount, error) {
		var c storage.ReactionCount
		var me int
		err := row.Scan(scanID(&c.MessageID), &c.Emoji, &c.Count, &me)
		c.Me = me > 0
		return c, err
	}, `SELECT message_id, emoji, COUNT(*), MAX(CASE WHEN user_id = $1 THEN 1 ELSE 0 END) FROM reactions
		WHERE message_id IN (`+placeholders(2, len(messageIDs))+`)
		GROUP BY message_id, emoji ORDER BY message_id, MIN(created_at), emoji`, args...)
}

// ReactionUsers implements storage.Reader; reactions_emoji serves it.
func (r reader) ReactionUsers(ctx context.Context, messageID snowflake.ID, emoji string, after snowflake.ID, limit int) ([]snowflake.ID, error) {
	return queryAll(ctx, r, "reaction users", func(row scanner) (snowflake.ID, error) {
		var id snowflake.ID
		err := row.Scan(scanID(&id))
		return id, err
	}, `SELECT user_id FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id > $3
		ORDER BY user_id LIMIT $4`, int64(messageID), emoji, int64(after), limit)
}

const revisionColumns = `id, message_id, channel_id, guild_id, author_id, editor_id, deleted, content, embeds,
	attachments, at`

func scanRevision(row scanner) (storage.Revision, error) {
	var v storage.Revision
	err := row.Scan(scanID(&v.ID), scanID(&v.MessageID), scanID(&v.ChannelID), scanID(&v.GuildID),
		scanID(&v.AuthorID), scanID(&v.EditorID), &v.Deleted, &v.Content, scanJSON(&v.Embeds),
		scanJSON(&v.Attachments), scanMS(&v.At))
	return v, err
}

// Revisions implements storage.Reader. Revision IDs are snowflakes made
// when the revision was, so their order is the order of the edits.
func (r reader) Revisions(ctx context.Context, messageID snowflake.ID) ([]storage.Revision, error) {
	return queryAll(ctx, r, "revisions", scanRevision, `SELECT `+revisionColumns+` FROM message_revisions
		WHERE message_id = $1 ORDER BY id`, int64(messageID))
}

// Attachment implements storage.Reader. The join is what makes an
// attachment of a deleted message unknown, should the cascade that deletes
// it ever be missing.
func (r reader) Attachment(ctx context.Context, id snowflake.ID) (storage.Attachment, error) {
	a, err := scanAttachment(r.q.QueryRowContext(ctx, `SELECT `+attachmentColumns+` FROM attachments a
		JOIN messages m ON m.id = a.message_id WHERE a.id = $1`, int64(id)))
	return a, r.wrap("attachment", err)
}

// defaultSearchLimit is Discord's page of search results.
const defaultSearchLimit = 25

// searchWords splits search text into the words the full-text indexes hold:
// runs of letters, digits and combining marks, which is how SQLite's
// unicode61 tokenizer splits text (PostgreSQL's parser differs only at the
// edges: it also keeps URLs, hosts and hyphenated words whole). Everything
// else, the FTS5 query syntax included, separates words and is dropped.
func searchWords(text string) []string {
	return strings.FieldsFunc(text, func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsNumber(c) && !unicode.IsMark(c)
	})
}

// ftsMatch builds an FTS5 MATCH expression requiring every word: each one
// is a quoted string (inner quotes doubled, though searchWords leaves none)
// so that no user input is ever read as FTS5 syntax, and FTS5 ANDs strings
// that stand side by side.
func ftsMatch(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
	}
	return strings.Join(quoted, " ")
}

// SearchMessages implements storage.Reader. Only the filters that are set
// go into the WHERE clause. Without text, both dialects walk the guild's
// messages newest first on the messages_guild index and stop at the page's
// end, then count the matches up to SearchCountMax (on the same index, from
// its entries alone on PostgreSQL); a page that is not full needs no count.
// Neither ever reads every match of a large guild.
//
// The full-text condition is the one part that differs per dialect: on
// SQLite a MATCH on the messages_fts index, on PostgreSQL plainto_tsquery
// against the content_tsv column, given the text as typed so that its
// parser splits it as it split the content (plainto_tsquery ignores
// operators, so the text cannot be tsquery syntax either). Text with no
// word at all (only punctuation, say) matches nothing on both.
func (r reader) SearchMessages(ctx context.Context, guildID snowflake.ID, q storage.SearchQuery) ([]storage.Message, int, error) {
	if len(q.ChannelIDs) == 0 {
		return nil, 0, nil
	}
	where := []string{"m.guild_id = $1", "m.channel_id IN (" + placeholders(2, len(q.ChannelIDs)) + ")"}
	args := append([]any{int64(guildID)}, idArgs(q.ChannelIDs)...)
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	from, order := "messages m", "m.id DESC"
	text, textArg := -1, 0 // PostgreSQL's text condition and its parameter
	if strings.TrimSpace(q.Text) != "" {
		words := searchWords(q.Text)
		if len(words) == 0 {
			return nil, 0, nil
		}
		if r.d.Name == "postgres" {
			add("m.content_tsv @@ plainto_tsquery('simple', $%d)", q.Text)
			text, textArg = len(where)-1, len(args)
		} else {
			// The full-text index drives the query and hands rows out
			// newest first (FTS5 walks rowids in either order), so a page
			// stops after its rows instead of sorting every match.
			from, order = "messages_fts f JOIN messages m ON m.id = f.rowid", "f.rowid DESC"
			add("messages_fts MATCH $%d", ftsMatch(words))
		}
	}
	if q.AuthorID != 0 {
		add("m.author_id = $%d", int64(q.AuthorID))
	}
	if q.HasFile {
		where = append(where, "EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)")
	}
	if q.HasLink {
		// SQLite's LIKE ignores ASCII case; ILIKE does the same on
		// PostgreSQL, so HTTPS:// is a link on both.
		like := "LIKE"
		if r.d.Name == "postgres" {
			like = "ILIKE"
		}
		where = append(where, fmt.Sprintf("(m.content %[1]s '%%http://%%' OR m.content %[1]s '%%https://%%')", like))
	}
	if q.Before != 0 {
		add("m.id < $%d", int64(q.Before))
	}
	if q.After != 0 {
		add("m.id > $%d", int64(q.After))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultSearchLimit
	}
	offset := max(q.Offset, 0)
	cond := strings.Join(where, " AND ")
	page := append(args[:len(args):len(args)], limit, offset)
	if r.d.Name == "postgres" && text >= 0 {
		// scope is the search without its words, which are what the
		// planner is asked to estimate apart; their parameter stays
		// bound, in a condition that is always true.
		scope := slices.Clone(where)
		scope[text] = fmt.Sprintf("$%d::text IS NOT NULL", textArg)
		return r.searchPostgres(ctx, cond, strings.Join(scope, " AND "), args, limit, offset)
	}
	ms, err := queryAll(ctx, r, "search messages", func(row scanner) (storage.Message, error) {
		return scanMessage(row)
	}, fmt.Sprintf(`SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d`,
		messageColumns, from, cond, order, len(args)+1, len(args)+2), page...)
	if err != nil {
		return nil, 0, err
	}
	// The total is counted up to SearchCountMax: an exact count of a
	// common word would cost more than the page itself.
	var total int
	if len(ms) < limit && (offset == 0 || len(ms) > 0) {
		total = offset + len(ms)
	} else {
		err = r.q.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT 1 FROM %s WHERE %s LIMIT %d) x`,
			from, cond, storage.SearchCountMax), args...).Scan(&total)
		if err != nil {
			return nil, 0, r.wrap("search messages count", err)
		}
	}
	return ms, total, r.loadAttachments(ctx, ms)
}

// sparse is how many matches a PostgreSQL text search answers from their
// IDs alone; past it, matches are dense enough to walk for.
const sparse = 2000

// walkRows is how many rows, at most, the planner's estimates may predict
// a walk newest first will read for a page before a search walks without
// asking the index first.
const walkRows = 5000

// searchPostgres answers a text search. What costs is visiting the heap
// rows of matches (a GIN index cannot answer alone, and a common word has
// hundreds of thousands), so the planner's statistics decide first. Where
// they predict matches dense enough that walking the newest rows newest
// first reaches the page within walkRows rows, it walks at once. Otherwise
// it asks the index for the IDs of at most sparse+1 matches: with no more,
// they are sorted, counted and paged here, and only the page's rows are
// read; with more, it walks after all. A walked search's total is the
// planner's estimate of the matches (bounded by SearchCountMax and by what
// is known), because counting tens of thousands of matches costs more than
// the whole search may.
func (r reader) searchPostgres(ctx context.Context, cond, scope string, args []any, limit, offset int) ([]storage.Message, int, error) {
	est := r.estimate(ctx, cond, args)
	if est > sparse {
		if in := r.estimate(ctx, scope, args); in > 0 && float64(offset+limit)*float64(in)/float64(est) <= walkRows {
			return r.walkPostgres(ctx, cond, args, limit, offset, est, 0)
		}
	}
	ids, err := queryAll(ctx, r, "search messages", func(row scanner) (int64, error) {
		var id int64
		return id, row.Scan(&id)
	}, fmt.Sprintf(`SELECT m.id FROM messages m WHERE %s LIMIT %d`, cond, sparse+1), args...)
	if err != nil {
		return nil, 0, err
	}
	if len(ids) > sparse {
		return r.walkPostgres(ctx, cond, args, limit, offset, est, sparse+1)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
	total := len(ids)
	if offset >= len(ids) {
		return nil, total, nil
	}
	ids = ids[offset:min(len(ids), offset+limit)]
	pageArgs := make([]any, len(ids))
	for i, id := range ids {
		pageArgs[i] = id
	}
	ms, err := queryAll(ctx, r, "search messages", scanMessageRow, `SELECT `+messageColumns+
		` FROM messages m WHERE m.id IN (`+placeholders(1, len(ids))+`) ORDER BY m.id DESC`, pageArgs...)
	if err != nil {
		return nil, 0, err
	}
	return ms, total, r.loadAttachments(ctx, ms)
}

// walkPostgres reads a search's page newest first; est is the planner's
// estimate of the matches and known how many there are at least (the
// index's count, when it was asked).
func (r reader) walkPostgres(ctx context.Context, cond string, args []any, limit, offset, est, known int) ([]storage.Message, int, error) {
	page := append(args[:len(args):len(args)], limit, offset)
	ms, err := queryAll(ctx, r, "search messages", scanMessageRow, fmt.Sprintf(
		`SELECT %s FROM messages m WHERE %s ORDER BY m.id DESC LIMIT $%d OFFSET $%d`,
		messageColumns, cond, len(args)+1, len(args)+2), page...)
	if err != nil {
		return nil, 0, err
	}
	total := max(known, min(est, storage.SearchCountMax))
	if len(ms) == limit {
		total = max(total, offset+limit+1)
	} else if len(ms) > 0 || offset == 0 {
		total = offset + len(ms) // the end of the list: now it is known
	}
	return ms, total, r.loadAttachments(ctx, ms)
}

// estimate is the planner's estimate of the messages matching cond (0 when
// it cannot tell).
func (r reader) estimate(ctx context.Context, cond string, args []any) int {
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	var raw []byte
	if err := r.q.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 FROM messages m WHERE `+cond, args...).Scan(&raw); err != nil ||
		json.Unmarshal(raw, &plan) != nil || len(plan) != 1 {
		return 0
	}
	return int(plan[0].Plan.Rows)
}

// CreateMessage implements storage.Tx. The attachments are written as the
// message's, whatever their MessageID and ChannelID say. The channel's
// last_message_id only moves forward, so that a message mirrored late from
// another homeserver, older than what the channel has, does not become its
// last.
func (t *tx) CreateMessage(ctx context.Context, s storage.Scope, m storage.Message) error {
	return t.CreateMessages(ctx, s, []storage.Message{m})
}

// CreateMessages implements storage.Tx: one update of the channels, one
// multi-row INSERT for the messages and one for their attachments (per
// Dialect.MaxRows messages), whatever the number of messages, because round
// trips under the log's lock are what bound a busy guild's throughput.
//
// The channel update is also the scope check, and comes first: it matches
// only channels in s, so a message aimed at a channel of another guild (or
// at another DM channel) fails the call before any row is written, without
// a round trip of its own.
func (t *tx) CreateMessages(ctx context.Context, s storage.Scope, msgs []storage.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	last := map[snowflake.ID]snowflake.ID{}
	for _, m := range msgs {
		if m.GuildID != s.GuildID {
			return fmt.Errorf("create messages: message %d of guild %d in scope of guild %d: %w",
				m.ID, m.GuildID, s.GuildID, storage.ErrNotFound)
		}
		if m.ID > last[m.ChannelID] {
			last[m.ChannelID] = m.ID
		}
	}
	if err := t.advanceChannels(ctx, s, last); err != nil {
		return err
	}
	for n := t.d.maxRows(); len(msgs) > 0; {
		k := min(n, len(msgs))
		if err := t.insertMessages(ctx, msgs[:k]); err != nil {
			return err
		}
		msgs = msgs[k:]
	}
	return nil
}

// insertMessages writes the rows of messages and their attachments, in one
// INSERT each.
func (t *tx) insertMessages(ctx context.Context, msgs []storage.Message) error {
	const cols = 24
	var b strings.Builder
	args := make([]any, 0, len(msgs)*cols)
	b.WriteString(`INSERT INTO messages (` + messageInsertColumns + `) VALUES `)
	var atts []storage.Attachment
	for i, m := range msgs {
		if i > 0 {
			b.WriteString(", ")
		}
		writePlaceholders(&b, len(args), cols)
		args = append(args, int64(m.ID), int64(m.ChannelID), nullID(m.GuildID), int64(m.AuthorID), m.Type, m.Content,
			nullString(m.Nonce), m.TTS, m.MentionEveryone, idList(m.Mentions), idList(m.MentionRoles), nullJSON(m.Embeds),
			m.Pinned, nullMS(m.PinnedAt), nullMS(m.EditedAt), nullID(m.ReferenceID), nullID(m.ReferenceChannelID), m.Flags,
			ms(m.CreatedAt), nullString(m.Origin), nullString(m.OriginID), nullID(m.WebhookID), nullString(m.AuthorName),
			nullString(m.AuthorAvatar))
		for _, a := range m.Attachments {
			a.MessageID, a.ChannelID = m.ID, m.ChannelID
			atts = append(atts, a)
		}
	}
	if err := t.exec(ctx, "create messages", b.String(), args...); err != nil {
		return err
	}
	if err := t.insertMentions(ctx, msgs); err != nil {
		return err
	}
	if len(atts) > 0 {
		const acols = 11
		b.Reset()
		args = args[:0]
		b.WriteString(`INSERT INTO attachments (` + attachmentInsertColumns + `) VALUES `)
		for i, a := range atts {
			if i > 0 {
				b.WriteString(", ")
			}
			writePlaceholders(&b, len(args), acols)
			args = append(args, int64(a.ID), int64(a.MessageID), int64(a.ChannelID), a.Filename, a.Description,
				a.ContentType, a.Size, a.Hash, a.Width, a.Height, a.OriginPath)
		}
		if err := t.exec(ctx, "create attachments", b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// advanceChannels makes each channel's last message the one given, unless
// it has a newer one: last_message_id only moves forward, so that a message
// mirrored late from another server does not move it back. It is also
// CreateMessages' scope check, in the same statement: the rows are updated
// even when the value stays, and only when every channel is in s, so that a
// channel out of scope fails the call with ErrNotFound before anything is
// written. The common case, one channel, has the plain statement.
func (t *tx) advanceChannels(ctx context.Context, s storage.Scope, last map[snowflake.ID]snowflake.ID) error {
	chans := make([]snowflake.ID, 0, len(last))
	for ch := range last {
		chans = append(chans, ch)
	}
	slices.Sort(chans)
	if len(chans) == 1 {
		cond, arg := scopeCond(s, "guild_id", "id", 3)
		return t.execOne(ctx, "create messages: channel", `UPDATE channels SET last_message_id =
			CASE WHEN last_message_id IS NULL OR last_message_id < $2 THEN $2 ELSE last_message_id END
			WHERE id = $1 AND `+cond, int64(chans[0]), int64(last[chans[0]]), arg)
	}
	var set strings.Builder
	args := make([]any, 0, 2*len(chans)+2)
	for _, ch := range chans {
		args = append(args, int64(ch), int64(last[ch]))
		fmt.Fprintf(&set, " WHEN id = $%d AND (last_message_id IS NULL OR last_message_id < $%d) THEN $%[2]d",
			len(args)-1, len(args))
	}
	in := make([]string, len(chans))
	for i := range chans {
		in[i] = "$" + strconv.Itoa(2*i+1)
	}
	list := strings.Join(in, ", ")
	cond, arg := scopeCond(s, "guild_id", "id", len(args)+1)
	args = append(args, arg, len(chans))
	res, err := t.q.ExecContext(ctx, `UPDATE channels SET last_message_id = CASE`+set.String()+
		` ELSE last_message_id END WHERE id IN (`+list+`) AND (SELECT COUNT(*) FROM channels
		WHERE id IN (`+list+`) AND `+cond+`) = $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return t.wrap("create messages: channels", err)
	}
	if n, err := rowsAffected(t.reader, "create messages: channels", res); err != nil {
		return err
	} else if n != len(chans) {
		return fmt.Errorf("create messages: channels: %w", storage.ErrNotFound)
	}
	return nil
}

// writePlaceholders writes "($n+1, ..., $n+cols)".
func writePlaceholders(b *strings.Builder, n, cols int) {
	b.WriteByte('(')
	for j := 1; j <= cols; j++ {
		if j > 1 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n + j))
	}
	b.WriteByte(')')
}

// UpdateMessage implements storage.Tx. "Mentions" covers all three mention
// fields, which an edit recomputes from the new content. The message must
// be of m.ChannelID, as for Message. Attachments are only ever removed here:
// new files come with new messages.
func (t *tx) UpdateMessage(ctx context.Context, s storage.Scope, m storage.Message) error {
	cond, arg := scopeCond(s, "guild_id", "channel_id", 12)
	err := t.execOne(ctx, "update message", `UPDATE messages SET content = $3, embeds = $4, mentions = $5,
		mention_roles = $6, mention_everyone = $7, flags = $8, pinned = $9, pinned_at = $10, edited_at = $11
		WHERE id = $1 AND channel_id = $2 AND `+cond,
		int64(m.ID), int64(m.ChannelID), m.Content, nullJSON(m.Embeds), idList(m.Mentions), idList(m.MentionRoles),
		m.MentionEveryone, m.Flags, m.Pinned, nullMS(m.PinnedAt), nullMS(m.EditedAt), arg)
	if err != nil {
		return err
	}
	query := `DELETE FROM attachments WHERE message_id = $1`
	args := []any{int64(m.ID)}
	if len(m.Attachments) > 0 {
		keep := make([]snowflake.ID, len(m.Attachments))
		for i, a := range m.Attachments {
			keep[i] = a.ID
		}
		query += ` AND id NOT IN (` + placeholders(2, len(keep)) + `)`
		args = append(args, idArgs(keep)...)
	}
	return t.exec(ctx, "update message attachments", query, args...)
}

// DeleteMessages implements storage.Tx. Attachments and reactions go by ON
// DELETE CASCADE (and, on SQLite, the full-text entries by trigger); the
// count is of messages only, which both databases report as the rows
// affected.
func (t *tx) DeleteMessages(ctx context.Context, s storage.Scope, channelID snowflake.ID, ids []snowflake.ID) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	cond, arg := scopeCond(s, "guild_id", "channel_id", 2)
	args := append([]any{int64(channelID), arg}, idArgs(ids)...)
	res, err := t.q.ExecContext(ctx, `DELETE FROM messages WHERE channel_id = $1 AND `+cond+` AND id IN (`+
		placeholders(3, len(ids))+`)`, args...)
	if err != nil {
		return 0, t.wrap("delete messages", err)
	}
	return rowsAffected(t.reader, "delete messages", res)
}

// rowsAffected reads a statement's row count as an int.
func rowsAffected(r reader, op string, res sql.Result) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, r.wrap(op, err)
	}
	return int(n), nil
}

// AddRevision implements storage.Tx. The row is inserted from a SELECT
// that finds the message in its channel and scope, so that the check and
// the write are one statement; the casts give PostgreSQL the types of
// parameters that stand alone in a select list.
func (t *tx) AddRevision(ctx context.Context, s storage.Scope, v storage.Revision) error {
	cond, arg := scopeCond(s, "guild_id", "channel_id", 12)
	return t.execOne(ctx, "add revision", `INSERT INTO message_revisions (`+revisionColumns+`)
		SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT),
			CAST($6 AS BIGINT), CAST($7 AS BOOLEAN), CAST($8 AS TEXT), CAST($9 AS TEXT), CAST($10 AS TEXT),
			CAST($11 AS BIGINT)
		WHERE EXISTS (SELECT 1 FROM messages WHERE id = $2 AND channel_id = $3 AND `+cond+`)`,
		int64(v.ID), int64(v.MessageID), int64(v.ChannelID), nullID(v.GuildID), int64(v.AuthorID), int64(v.EditorID),
		v.Deleted, v.Content, nullJSON(v.Embeds), nullJSON(v.Attachments), ms(v.At), arg)
}

// AddReaction implements storage.Tx; the primary key makes a repeat
// ErrConflict.
//
// A repeated reaction is the common case (clients retry, people double
// click), so it is not left to the unique constraint: on PostgreSQL a
// violation would abort the whole transaction. The row is inserted from a
// SELECT that finds the message in its channel and scope (reactions have no
// guild of their own), so that a reaction lands only on a message in scope
// in the same one statement; only when nothing was inserted does a second
// query tell a repeat from a message out of scope.
func (t *tx) AddReaction(ctx context.Context, s storage.Scope, x storage.Reaction) error {
	cond, arg := scopeCond(s, "guild_id", "channel_id", 6)
	res, err := t.q.ExecContext(ctx, `INSERT INTO reactions (message_id, user_id, emoji, channel_id, created_at)
		SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS BIGINT)
		WHERE EXISTS (SELECT 1 FROM messages WHERE id = $1 AND channel_id = $4 AND `+cond+`)
		ON CONFLICT DO NOTHING`,
		int64(x.MessageID), int64(x.UserID), x.Emoji, int64(x.ChannelID), ms(x.CreatedAt), arg)
	if err != nil {
		return t.wrap("add reaction", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.wrap("add reaction", err)
	} else if n > 0 {
		return nil
	}
	cond, arg = scopeCond(s, "guild_id", "channel_id", 3)
	var one int
	err = t.q.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE id = $1 AND channel_id = $2 AND `+cond,
		int64(x.MessageID), int64(x.ChannelID), arg).Scan(&one)
	if err != nil {
		return t.wrap("add reaction", err)
	}
	return fmt.Errorf("add reaction: %w", storage.ErrConflict)
}

// reactionScope is the condition that keeps a statement on reactions
// within s, through their message (reactions have no guild column), with
// its argument bound as $n.
func reactionScope(s storage.Scope, n int) (string, any) {
	cond, arg := scopeCond(s, "m.guild_id", "m.channel_id", n)
	return `EXISTS (SELECT 1 FROM messages m WHERE m.id = reactions.message_id AND ` + cond + `)`, arg
}

// RemoveReaction implements storage.Tx.
func (t *tx) RemoveReaction(ctx context.Context, s storage.Scope, messageID, userID snowflake.ID, emoji string) error {
	cond, arg := reactionScope(s, 4)
	return t.execOne(ctx, "remove reaction", `DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3
		AND `+cond, int64(messageID), int64(userID), emoji, arg)
}

// RemoveReactions implements storage.Tx.
func (t *tx) RemoveReactions(ctx context.Context, s storage.Scope, messageID snowflake.ID, emoji string) (int, error) {
	cond, arg := reactionScope(s, 2)
	query, args := `DELETE FROM reactions WHERE message_id = $1 AND `+cond, []any{int64(messageID), arg}
	if emoji != "" {
		query, args = query+` AND emoji = $3`, append(args, emoji)
	}
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, t.wrap("remove reactions", err)
	}
	return rowsAffected(t.reader, "remove reactions", res)
}

// SetAttachmentHash implements storage.Tx. Attachments have no guild
// column: the scope is tested on their message.
func (t *tx) SetAttachmentHash(ctx context.Context, s storage.Scope, id snowflake.ID, hash string) error {
	cond, arg := scopeCond(s, "m.guild_id", "m.channel_id", 3)
	return t.exec(ctx, "set attachment hash", `UPDATE attachments SET hash = $2 WHERE id = $1
		AND EXISTS (SELECT 1 FROM messages m WHERE m.id = attachments.message_id AND `+cond+`)`, int64(id), hash, arg)
}

// FileHashes implements storage.Reader.
func (r reader) FileHashes(ctx context.Context) (map[string]bool, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT hash FROM attachments WHERE hash <> ''
		UNION SELECT avatar FROM users WHERE avatar <> ''
		UNION SELECT banner FROM users WHERE banner <> ''
		UNION SELECT icon FROM guilds WHERE icon <> ''
		UNION SELECT icon FROM roles WHERE icon <> ''
		UNION SELECT icon FROM channels WHERE icon <> ''
		UNION SELECT hash FROM emojis WHERE hash <> ''
		UNION SELECT hash FROM webhook_avatars
		UNION SELECT hash FROM interaction_files`)
	if err != nil {
		return nil, r.wrap("file hashes", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, r.wrap("file hashes", err)
		}
		out[h] = true
	}
	return out, r.wrap("file hashes", rows.Err())
}

// AddAttachments implements storage.Tx.
func (t *tx) AddAttachments(ctx context.Context, s storage.Scope, messageID snowflake.ID, as []storage.Attachment) error {
	cond, arg := scopeCond(s, "guild_id", "channel_id", 2)
	var channelID snowflake.ID
	if err := t.q.QueryRowContext(ctx, `SELECT channel_id FROM messages WHERE id = $1 AND `+cond, int64(messageID), arg).
		Scan(scanID(&channelID)); err != nil {
		return t.wrap("add attachments", err)
	}
	for _, a := range as {
		if err := t.exec(ctx, "add attachment", `INSERT INTO attachments (`+attachmentInsertColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			int64(a.ID), int64(messageID), int64(channelID), a.Filename, a.Description,
			a.ContentType, a.Size, a.Hash, a.Width, a.Height, a.OriginPath); err != nil {
			return err
		}
	}
	return nil
}
