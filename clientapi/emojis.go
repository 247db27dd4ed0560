package clientapi

import (
	"errors"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/snowflake"
)

// emojiMaxBody fits a 256 KiB image as base64 in a data URI.
const emojiMaxBody = 512 << 10

func (a *API) emojis(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.Emojis(reqCtx(c), principal(c), ids[0])
	}, "guild")
}

func (a *API) createEmoji(c *gin.Context) {
	ids, ok := a.ids(c, "guild")
	if !ok {
		return
	}
	c.Set(maxBodyKey, int64(emojiMaxBody))
	f, ok := a.form(c)
	if !ok {
		return
	}
	name, image, roles := f.String("name", true), f.String("image", true), f.IDs("roles")
	if err := f.Err(); err != nil {
		a.fail(c, err)
		return
	}
	e, err := a.hs.CreateEmoji(reqCtx(c), principal(c), ids[0], name.Value, image.Value, roles.Value)
	a.reply(c, http.StatusCreated, e, err)
}

func (a *API) emoji(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.Emoji(reqCtx(c), principal(c), ids[0], ids[1])
	}, "guild", "emoji")
}

// renameEmoji is PATCH /guilds/{id}/emojis/{emoji}: name and roles, each
// optional (roles null or [] lets everyone use it).
func (a *API) renameEmoji(c *gin.Context) {
	a.runForm(c, http.StatusOK, func(ids []snowflake.ID, f *form) func() (any, error) {
		name, roles := f.String("name", false), f.IDs("roles")
		return func() (any, error) {
			ctx, p := reqCtx(c), principal(c)
			if !name.Set && !roles.Set {
				return a.hs.Emoji(ctx, p, ids[0], ids[1])
			}
			var out any
			if name.Set {
				e, err := a.hs.RenameEmoji(ctx, p, ids[0], ids[1], name.Value)
				if err != nil {
					return nil, err
				}
				out = e
			}
			if roles.Set {
				e, err := a.hs.SetEmojiRoles(ctx, p, ids[0], ids[1], roles.Value)
				if err != nil {
					return nil, err
				}
				out = e
			}
			return out, nil
		}
	}, "guild", "emoji")
}

func (a *API) deleteEmoji(c *gin.Context) {
	a.run(c, http.StatusNoContent, func(ids []snowflake.ID) (any, error) {
		return nil, a.hs.DeleteEmoji(reqCtx(c), principal(c), ids[0], ids[1])
	}, "guild", "emoji")
}

// emojiImage serves /emojis/{id}.{ext}, public as on Discord's CDN.
func (a *API) emojiImage(c *gin.Context) {
	file := c.Param("file")
	id, err := snowflake.Parse(strings.TrimSuffix(file, path.Ext(file)))
	if err != nil {
		notFound(c)
		return
	}
	a.serveFile(c, func() (homeserver.File, error) { return a.hs.EmojiImage(c.Request.Context(), id) })
}

// guildIcon serves /icons/{guild}/{hash}.{ext}.
func (a *API) guildIcon(c *gin.Context) {
	id, err := snowflake.Parse(c.Param("guild"))
	if err != nil {
		notFound(c)
		return
	}
	file := c.Param("file")
	hash := strings.TrimSuffix(file, path.Ext(file))
	a.serveFile(c, func() (homeserver.File, error) { return a.hs.GuildIcon(c.Request.Context(), id, hash) })
}

// serveFile answers a stored image: its sniffed type, never sniffed again by
// the browser, cached for good (the URL changes with the content); scaled
// when the request asks (serveScaled).
func (a *API) serveFile(c *gin.Context, open func() (homeserver.File, error)) {
	f, err := open()
	if err != nil {
		if errors.Is(err, homeserver.ErrNotFound) {
			notFound(c)
			return
		}
		a.fail(c, err)
		return
	}
	defer f.Close()
	headers := func(h http.Header, contentType string) {
		h.Set("Content-Type", contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'")
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	if a.serveScaled(c, f, headers) {
		return
	}
	headers(c.Writer.Header(), f.ContentType)
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, f)
}
