package clientapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

func (a *API) routesCommands(r *gin.RouterGroup) {
	for _, base := range []string{"/applications/:application/commands", "/applications/:application/guilds/:guild/commands"} {
		r.GET(base, a.auth, a.listCommands)
		r.POST(base, a.auth, a.createCommand)
		r.PUT(base, a.auth, a.overwriteCommands)
		r.GET(base+"/:command", a.auth, a.getCommand)
		r.PATCH(base+"/:command", a.auth, a.updateCommand)
		r.DELETE(base+"/:command", a.auth, a.deleteCommand)
	}
	perms := "/applications/:application/guilds/:guild/commands"
	r.GET(perms+"/permissions", a.auth, a.listCommandPermissions)
	r.GET(perms+"/:command/permissions", a.auth, a.getCommandPermissions)
	r.PUT(perms+"/:command/permissions", a.auth, a.setCommandPermissions)
	r.GET("/guilds/:guild/application-command-index", a.auth, a.guildCommandIndex)
	r.GET("/channels/:channel/application-command-index", a.auth, a.channelCommandIndex)
	r.GET("/users/@me/application-command-index", a.auth, a.userCommandIndex)
}

// readJSON decodes the request body into v, mapping a body over the limit,
// malformed JSON and a field of the wrong type to Discord's errors.
func readJSON(c *gin.Context, v any) error {
	limitedBody(c)
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return fmt.Errorf("%w: %w", errMalformedJSON, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	return decodeJSON(body, v)
}

// decodeJSON is readJSON's decoding half.
func decodeJSON(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "_root"
		}
		return homeserver.Invalid(field, "BASE_TYPE_INVALID", fmt.Sprintf("Value is not a valid %s.", typeErr.Value))
	default:
		return errMalformedJSON
	}
}

// commandIDs reads the application, the guild (0 on the global routes)
// and, when named, the command from the path.
func (a *API) commandIDs(c *gin.Context, command bool) (app, guild, cmd snowflake.ID, ok bool) {
	names := []string{"application"}
	if c.Param("guild") != "" {
		names = append(names, "guild")
	}
	if command {
		names = append(names, "command")
	}
	ids, ok := a.ids(c, names...)
	if !ok {
		return 0, 0, 0, false
	}
	app = ids[0]
	if c.Param("guild") != "" {
		guild = ids[1]
	}
	if command {
		cmd = ids[len(ids)-1]
	}
	return app, guild, cmd, true
}

func (a *API) listCommands(c *gin.Context) {
	app, guild, _, ok := a.commandIDs(c, false)
	if !ok {
		return
	}
	list, err := a.hs.ApplicationCommands(reqCtx(c), principal(c), app, guild)
	a.reply(c, http.StatusOK, list, err)
}

func (a *API) getCommand(c *gin.Context) {
	app, guild, cmd, ok := a.commandIDs(c, true)
	if !ok {
		return
	}
	out, err := a.hs.GetApplicationCommand(reqCtx(c), principal(c), app, guild, cmd)
	a.reply(c, http.StatusOK, out, err)
}

// createCommand answers 201 for a new command and 200 for one it
// overwrote, as Discord does.
func (a *API) createCommand(c *gin.Context) {
	app, guild, _, ok := a.commandIDs(c, false)
	if !ok {
		return
	}
	var in discord.ApplicationCommand
	if err := readJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	out, created, err := a.hs.CreateApplicationCommand(reqCtx(c), principal(c), app, guild, in)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	a.reply(c, status, out, err)
}

func (a *API) overwriteCommands(c *gin.Context) {
	app, guild, _, ok := a.commandIDs(c, false)
	if !ok {
		return
	}
	var in []discord.ApplicationCommand
	if err := readJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	out, err := a.hs.OverwriteApplicationCommands(reqCtx(c), principal(c), app, guild, in)
	a.reply(c, http.StatusOK, out, err)
}

// updateCommand applies the body's fields to the command as it stands:
// decoding onto the stored command leaves out what the body leaves out.
func (a *API) updateCommand(c *gin.Context) {
	app, guild, cmd, ok := a.commandIDs(c, true)
	if !ok {
		return
	}
	limitedBody(c)
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		a.fail(c, errBodyTooLarge)
		return
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil && len(bytes.TrimSpace(body)) > 0 {
		a.fail(c, errMalformedJSON)
		return
	}
	delete(probe, "type")
	body, _ = json.Marshal(probe)
	out, err := a.hs.UpdateApplicationCommand(reqCtx(c), principal(c), app, guild, cmd, func(cur *discord.ApplicationCommand) error {
		return decodeJSON(body, cur)
	})
	a.reply(c, http.StatusOK, out, err)
}

func (a *API) deleteCommand(c *gin.Context) {
	app, guild, cmd, ok := a.commandIDs(c, true)
	if !ok {
		return
	}
	err := a.hs.DeleteApplicationCommand(reqCtx(c), principal(c), app, guild, cmd)
	a.reply(c, http.StatusNoContent, nil, err)
}

func (a *API) listCommandPermissions(c *gin.Context) {
	app, guild, _, ok := a.commandIDs(c, false)
	if !ok {
		return
	}
	out, err := a.hs.GuildCommandPermissions(reqCtx(c), principal(c), app, guild)
	a.reply(c, http.StatusOK, out, err)
}

func (a *API) getCommandPermissions(c *gin.Context) {
	app, guild, cmd, ok := a.commandIDs(c, true)
	if !ok {
		return
	}
	out, err := a.hs.CommandPermissionsOf(reqCtx(c), principal(c), app, guild, cmd)
	a.reply(c, http.StatusOK, out, err)
}

func (a *API) setCommandPermissions(c *gin.Context) {
	app, guild, cmd, ok := a.commandIDs(c, true)
	if !ok {
		return
	}
	var in struct {
		Permissions []discord.CommandPermission `json:"permissions"`
	}
	if err := readJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	out, err := a.hs.SetCommandPermissions(reqCtx(c), principal(c), app, guild, cmd, in.Permissions)
	a.reply(c, http.StatusOK, out, err)
}

func (a *API) guildCommandIndex(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.CommandIndex(reqCtx(c), principal(c), ids[0], 0)
	}, "guild")
}

func (a *API) channelCommandIndex(c *gin.Context) {
	a.run(c, http.StatusOK, func(ids []snowflake.ID) (any, error) {
		return a.hs.CommandIndex(reqCtx(c), principal(c), 0, ids[0])
	}, "channel")
}

// userCommandIndex is the index of user-installed applications, which
// Hearth does not have: an empty index.
func (a *API) userCommandIndex(c *gin.Context) {
	c.JSON(http.StatusOK, discord.CommandIndex{Applications: []discord.CommandIndexApplication{}, ApplicationCommands: []discord.ApplicationCommand{}})
}
