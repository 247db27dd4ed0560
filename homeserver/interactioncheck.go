package homeserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// The checks an interaction passes before its application hears of it:
// what the person may use, and that what they send fits what the
// application declared (the command's options, the message's components,
// the modal's inputs). The application receives only what passed, with
// the objects it names resolved.

// checkCommandInteraction checks a command (or autocomplete) interaction
// and returns its data as the application receives it.
func (h *Homeserver) checkCommandInteraction(ctx context.Context, ic *interactionCtx, in InteractionCreate) (commandData, error) {
	var d commandData
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return d, Invalid("data", "MODEL_TYPE_CONVERT", "Not a valid interaction data object.")
	}
	if ic.pl.guild != nil && !ic.pl.perms.Has(permission.UseApplicationCommands) {
		return d, fmt.Errorf("use application commands: %w", ErrMissingPermission)
	}
	row, err := h.store.ApplicationCommand(ctx, ic.app.ID, d.ID)
	guildID := snowflake.ID(0)
	if ic.pl.guild != nil {
		guildID = ic.pl.guild.guild.ID
	}
	if errors.Is(err, storage.ErrNotFound) || err == nil && row.GuildID != 0 && row.GuildID != guildID {
		return d, fmt.Errorf("command %d: %w", d.ID, ErrUnknownCommand)
	} else if err != nil {
		return d, storeErr("interaction command", err)
	}
	cmd := shapeCommand(row)
	if d.Name != cmd.Name || (d.Type != 0 && d.Type != cmd.Type) {
		return d, Invalid("data.name", "APPLICATION_COMMAND_OUTDATED", "This command is outdated, please try again in a few minutes")
	}
	d.Type = cmd.Type
	if ic.pl.guild != nil {
		if row.GuildID == 0 && !slices.Contains(cmd.Contexts, ContextGuild) {
			return d, fmt.Errorf("command %d outside guilds: %w", d.ID, ErrUnknownCommand)
		}
		ov := overrideSet{}
		if err := h.overridesOf(ctx, ic.app.ID, guildID, ov); err != nil {
			return d, err
		}
		if !commandUsable(ic.pl.guild, ic.pl.ch.ID, cmd, ov) {
			return d, fmt.Errorf("command %d: %w", d.ID, ErrMissingPermission)
		}
	} else if !slices.Contains(cmd.Contexts, ContextBotDM) {
		return d, fmt.Errorf("command %d in DMs: %w", d.ID, ErrUnknownCommand)
	}
	v := &ValidationError{}
	autocomplete := in.Type == discord.InteractionAutocomplete
	switch cmd.Type {
	case discord.CommandChatInput:
		focused := 0
		h.checkOptions(ctx, ic, v, "data.options", cmd.Options, d.Options, autocomplete, &focused)
		if autocomplete && focused != 1 {
			v.Add("data.options", "INTERACTION_AUTOCOMPLETE_FOCUS", "Exactly one option is focused in autocomplete.")
		}
	default:
		if autocomplete {
			v.Add("type", "BASE_TYPE_CHOICES", "Only chat input commands have autocomplete.")
		}
		if d.TargetID == nil {
			v.Add("data.target_id", "BASE_TYPE_REQUIRED", "This field is required")
			break
		}
		if len(d.Options) > 0 {
			v.Add("data.options", "BASE_TYPE_MAX_LENGTH", "Context menu commands have no options.")
		}
		if cmd.Type == discord.CommandUser {
			h.resolveUser(ctx, ic, v, "data.target_id", *d.TargetID)
		} else {
			h.resolveMessage(ctx, ic, v, "data.target_id", *d.TargetID)
		}
	}
	if err := v.Err(); err != nil {
		return d, err
	}
	if row.GuildID != 0 {
		d.GuildID = &row.GuildID
	} else {
		d.GuildID = nil
	}
	d.Version = nil
	if !ic.res.empty() {
		d.Resolved = &ic.res
	}
	return d, nil
}

// checkOptions checks given options against declared ones, resolving the
// objects they name; in autocomplete the focused option is counted and
// may hold anything typed so far, and required options may be missing.
func (h *Homeserver) checkOptions(ctx context.Context, ic *interactionCtx, v *ValidationError, field string, decl []discord.CommandOption, given []givenOption, autocomplete bool, focused *int) {
	if len(decl) > 0 && (decl[0].Type == discord.OptionSubCommand || decl[0].Type == discord.OptionSubCommandGroup) {
		if len(given) != 1 {
			v.Add(field, "APPLICATION_COMMAND_OPTIONS_SUBCOMMAND", "Exactly one sub-command is used.")
			return
		}
		for _, o := range decl {
			if o.Name == given[0].Name && o.Type == given[0].Type {
				h.checkOptions(ctx, ic, v, field+".0.options", o.Options, given[0].Options, autocomplete, focused)
				return
			}
		}
		v.Add(field+".0.name", "APPLICATION_COMMAND_OPTION_UNKNOWN", "Unknown sub-command.")
		return
	}
	seen := map[string]bool{}
	for i, g := range given {
		f := fmt.Sprintf("%s.%d", field, i)
		idx := slices.IndexFunc(decl, func(o discord.CommandOption) bool { return o.Name == g.Name })
		if idx < 0 || seen[g.Name] {
			v.Add(f+".name", "APPLICATION_COMMAND_OPTION_UNKNOWN", "Unknown or repeated option.")
			continue
		}
		seen[g.Name] = true
		o := decl[idx]
		if g.Type != o.Type {
			v.Add(f+".type", "APPLICATION_COMMAND_OPTION_TYPE", "The option's type does not match the command.")
			continue
		}
		if g.Focused {
			*focused++
			if !autocomplete || !o.Autocomplete {
				v.Add(f+".focused", "APPLICATION_COMMAND_OPTION_FOCUS", "Only autocomplete options are focused, in autocomplete.")
			}
			continue
		}
		if nv := h.checkValue(ctx, ic, v, f+".value", o, g.Value); nv != nil {
			given[i].Value = nv
		}
	}
	if autocomplete {
		return
	}
	for _, o := range decl {
		if o.Required && !seen[o.Name] {
			v.Add(field, "APPLICATION_COMMAND_OPTION_REQUIRED", fmt.Sprintf("The option %q is required.", o.Name))
		}
	}
}

// checkValue checks one option value against its declaration, and
// answers the value the application receives instead when it differs (an
// attachment option names its upload; the application gets the file's ID).
func (h *Homeserver) checkValue(ctx context.Context, ic *interactionCtx, v *ValidationError, f string, o discord.CommandOption, raw json.RawMessage) json.RawMessage {
	isString := bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`))
	inChoices := func() bool {
		if len(o.Choices) == 0 {
			return true
		}
		for _, c := range o.Choices {
			if jsonEqual(c.Value, raw) {
				return true
			}
		}
		return false
	}
	switch o.Type {
	case discord.OptionString:
		var s string
		if !isString || json.Unmarshal(raw, &s) != nil {
			v.Add(f, "BASE_TYPE_STRING", "Must be a string.")
			return nil
		}
		n := utf8.RuneCountInString(s)
		lo, hi := 0, optionLengthMax
		if o.MinLength != nil {
			lo = *o.MinLength
		}
		if o.MaxLength != nil {
			hi = *o.MaxLength
		}
		if n < lo || n > hi {
			v.Add(f, "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", lo, hi))
		}
		if !inChoices() {
			v.Add(f, "BASE_TYPE_CHOICES", "Value is not one of the choices.")
		}
	case discord.OptionInteger, discord.OptionNumber:
		var x float64
		if isString || json.Unmarshal(raw, &x) != nil || o.Type == discord.OptionInteger && (x != math.Trunc(x) || math.Abs(x) > maxSafeInteger) {
			v.Add(f, "NUMBER_TYPE_COERCE", "Value is not a valid number.")
			return nil
		}
		if o.MinValue != nil {
			if lo, _ := o.MinValue.Float64(); x < lo {
				v.Add(f, "NUMBER_TYPE_MIN", fmt.Sprintf("Must be at least %s.", o.MinValue.String()))
			}
		}
		if o.MaxValue != nil {
			if hi, _ := o.MaxValue.Float64(); x > hi {
				v.Add(f, "NUMBER_TYPE_MAX", fmt.Sprintf("Must be at most %s.", o.MaxValue.String()))
			}
		}
		if !inChoices() {
			v.Add(f, "BASE_TYPE_CHOICES", "Value is not one of the choices.")
		}
	case discord.OptionBoolean:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			v.Add(f, "BASE_TYPE_BOOLEAN", "Must be either true or false.")
		}
	case discord.OptionUser, discord.OptionChannel, discord.OptionRole, discord.OptionMentionable:
		var id snowflake.ID
		if json.Unmarshal(raw, &id) != nil || id == 0 {
			v.Add(f, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
			return nil
		}
		switch o.Type {
		case discord.OptionUser:
			h.resolveUser(ctx, ic, v, f, id)
		case discord.OptionRole:
			h.resolveRole(ctx, ic, v, f, id)
		case discord.OptionChannel:
			h.resolveChannel(ctx, ic, v, f, id, o.ChannelTypes)
		case discord.OptionMentionable:
			h.resolveMentionable(ctx, ic, v, f, id)
		}
	case discord.OptionAttachment:
		return h.attachOption(ic, v, f, raw)
	default:
		v.Add(f, "APPLICATION_COMMAND_OPTION_TYPE", "This option type is not supported.")
	}
	return nil
}

// attachOption resolves an attachment option: its value names a file the
// person uploaded with the interaction (by the id of data.attachments, a
// string or a number). The file gets an attachment ID, which is the value
// the application receives, and is resolved in resolved.attachments with a
// URL the application can fetch.
func (h *Homeserver) attachOption(ic *interactionCtx, v *ValidationError, f string, raw json.RawMessage) json.RawMessage {
	var key string
	if json.Unmarshal(raw, &key) != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			v.Add(f, "BASE_TYPE_STRING", "Must be the id of an uploaded attachment.")
			return nil
		}
		key = n.String()
	}
	a, ok := ic.attached[key]
	if !ok {
		up, found := ic.files[key]
		if !found {
			v.Add(f, "APPLICATION_COMMAND_OPTION_ATTACHMENT", "No file was uploaded with this id.")
			return nil
		}
		a = storage.Attachment{ID: h.cfg.IDs.Next(), ChannelID: ic.pl.ch.ID, Filename: up.Filename, Description: up.Description,
			ContentType: up.ContentType, Size: up.Size, Hash: up.Hash, Width: up.Width, Height: up.Height}
		ic.attached[key] = a
	}
	if ic.res.Attachments == nil {
		ic.res.Attachments = map[snowflake.ID]discord.Attachment{}
	}
	ic.res.Attachments[a.ID] = h.renderAttachment(a)
	out, _ := json.Marshal(a.ID.String()) // a string always marshals
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func (h *Homeserver) resolveUser(ctx context.Context, ic *interactionCtx, v *ValidationError, f string, id snowflake.ID) {
	u, err := h.store.UserByID(ctx, id)
	if err != nil {
		v.Add(f, "UNKNOWN_USER", "Unknown user.")
		return
	}
	if ic.res.Users == nil {
		ic.res.Users = map[snowflake.ID]discord.User{}
	}
	ic.res.Users[id] = discordUser(u)
	if ic.pl.guild == nil {
		return
	}
	m, err := h.store.Member(ctx, ic.pl.guild.guild.ID, id)
	if err != nil {
		return // a user who is not a member resolves as a user only
	}
	dm := discordMember(m, u)
	dm.User = nil
	perms := permission.Channel(h.permInput(ic.pl.guild.guild, ic.pl.guild.byID, m), overwrites(ic.pl.ch))
	if ic.res.Members == nil {
		ic.res.Members = map[snowflake.ID]memberWithPermissions{}
	}
	ic.res.Members[id] = memberWithPermissions{Member: dm, Permissions: perms.String()}
}

func (h *Homeserver) resolveRole(_ context.Context, ic *interactionCtx, v *ValidationError, f string, id snowflake.ID) {
	if ic.pl.guild == nil {
		v.Add(f, "UNKNOWN_ROLE", "Unknown role.")
		return
	}
	r, ok := ic.pl.guild.byID[id]
	if !ok {
		v.Add(f, "UNKNOWN_ROLE", "Unknown role.")
		return
	}
	if ic.res.Roles == nil {
		ic.res.Roles = map[snowflake.ID]discord.Role{}
	}
	ic.res.Roles[id] = discordRole(r)
}

func (h *Homeserver) resolveChannel(ctx context.Context, ic *interactionCtx, v *ValidationError, f string, id snowflake.ID, types []int) {
	c, err := h.store.ChannelByID(ctx, id)
	guildID := snowflake.ID(0)
	if ic.pl.guild != nil {
		guildID = ic.pl.guild.guild.ID
	}
	if err != nil || c.GuildID == 0 || c.GuildID != guildID {
		v.Add(f, "UNKNOWN_CHANNEL", "Unknown channel.")
		return
	}
	perms := h.ChannelPermissions(ctx, ic.p.User.ID, id)
	if !perms.Has(permission.ViewChannel) {
		v.Add(f, "UNKNOWN_CHANNEL", "Unknown channel.")
		return
	}
	if len(types) > 0 && !slices.Contains(types, c.Type) {
		v.Add(f, "CHANNEL_TYPE_INVALID", "The channel is not of a type the option takes.")
		return
	}
	dc := discordChannel(c)
	dc.Permissions = perms.String()
	if ic.res.Channels == nil {
		ic.res.Channels = map[snowflake.ID]discord.Channel{}
	}
	ic.res.Channels[id] = dc
}

func (h *Homeserver) resolveMessage(ctx context.Context, ic *interactionCtx, v *ValidationError, f string, id snowflake.ID) {
	if !ic.pl.perms.Has(permission.ReadMessageHistory) {
		v.Add(f, "UNKNOWN_MESSAGE", "Unknown message.")
		return
	}
	m, err := h.store.Message(ctx, ic.pl.ch.ID, id)
	if err != nil {
		v.Add(f, "UNKNOWN_MESSAGE", "Unknown message.")
		return
	}
	dm, err := h.renderMessage(ctx, h.store, m, ic.p.User.ID, false)
	if err != nil {
		v.Add(f, "UNKNOWN_MESSAGE", "Unknown message.")
		return
	}
	if ic.res.Messages == nil {
		ic.res.Messages = map[snowflake.ID]discord.Message{}
	}
	ic.res.Messages[id] = dm
}

// checkComponentInteraction checks a press of a button or a choice in a
// select against the message's stored components, and returns the data
// and the message as the application receives them.
func (h *Homeserver) checkComponentInteraction(ctx context.Context, ic *interactionCtx, in InteractionCreate) (componentData, discord.Message, error) {
	var d componentData
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return d, discord.Message{}, Invalid("data", "MODEL_TYPE_CONVERT", "Not a valid interaction data object.")
	}
	var comps []discord.Component
	var render func() (discord.Message, error)
	m, err := messageIn(ctx, h.store, in.ChannelID, in.MessageID)
	if errors.Is(err, ErrUnknownMessage) {
		// An ephemeral message the application sent to this person.
		em, owner, emErr := h.ephemeralFor(ctx, ic, in)
		if emErr != nil {
			return d, discord.Message{}, err
		}
		ic.ephemeralOf = owner
		comps = decodeComponents(mustJSON(em.Components))
		render = func() (discord.Message, error) { return em, nil }
	} else if err != nil {
		return d, discord.Message{}, err
	} else {
		if m.AuthorID != ic.app.ID {
			return d, discord.Message{}, Invalid("message_id", "COMPONENT_VALIDATION_FAILED", "The message is not the application's.")
		}
		mc, err := h.store.MessageComponents(ctx, m.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return d, discord.Message{}, Invalid("data.custom_id", "COMPONENT_VALIDATION_FAILED", "Component validation failed")
		} else if err != nil {
			return d, discord.Message{}, storeErr("message components", err)
		}
		comps = decodeComponents(mc.Components)
		render = func() (discord.Message, error) { return h.renderMessage(ctx, h.store, m, ic.app.ID, false) }
	}
	c, ok := findComponent(comps, d.CustomID)
	if !ok || c.Type != d.ComponentType || c.Disabled || c.Type == discord.ComponentButton && c.Style == discord.ButtonLink {
		return d, discord.Message{}, Invalid("data.custom_id", "COMPONENT_VALIDATION_FAILED", "Component validation failed")
	}
	v := &ValidationError{}
	if c.Type == discord.ComponentButton {
		if len(d.Values) > 0 {
			v.Add("data.values", "COMPONENT_VALIDATION_FAILED", "A button has no values.")
		}
	} else {
		lo, hi := selectBounds(c)
		if len(d.Values) < lo || len(d.Values) > hi {
			v.Add("data.values", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", lo, hi))
		}
		seen := map[string]bool{}
		for i, val := range d.Values {
			f := fmt.Sprintf("data.values.%d", i)
			if seen[val] {
				v.Add(f, "COMPONENT_VALIDATION_FAILED", "A value is chosen once.")
			}
			seen[val] = true
			if c.Type == discord.ComponentStringSelect {
				if !slices.ContainsFunc(c.Options, func(o discord.SelectOption) bool { return o.Value == val }) {
					v.Add(f, "COMPONENT_VALIDATION_FAILED", "Not one of the select's options.")
				}
				continue
			}
			id, err := snowflake.Parse(val)
			if err != nil {
				v.Add(f, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
				continue
			}
			switch c.Type {
			case discord.ComponentUserSelect:
				h.resolveUser(ctx, ic, v, f, id)
			case discord.ComponentRoleSelect:
				h.resolveRole(ctx, ic, v, f, id)
			case discord.ComponentChannelSelect:
				h.resolveChannel(ctx, ic, v, f, id, c.ChannelTypes)
			case discord.ComponentMentionableSelect:
				h.resolveMentionable(ctx, ic, v, f, id)
			}
		}
	}
	if err := v.Err(); err != nil {
		return d, discord.Message{}, err
	}
	if !ic.res.empty() {
		d.Resolved = &ic.res
	}
	if d.Values == nil && c.Type != discord.ComponentButton {
		d.Values = []string{}
	}
	msg, err := render()
	return d, msg, err
}

// ephemeralFor finds the ephemeral message a component interaction names:
// one the application sent to this same person in this channel, still
// kept with its interaction (for that interaction's 15 minutes). It
// answers the message and the interaction that keeps it.
func (h *Homeserver) ephemeralFor(ctx context.Context, ic *interactionCtx, in InteractionCreate) (discord.Message, snowflake.ID, error) {
	em, err := h.store.EphemeralMessage(ctx, in.MessageID)
	if err != nil {
		return discord.Message{}, 0, err
	}
	owner, err := h.store.Interaction(ctx, em.InteractionID)
	if err != nil {
		return discord.Message{}, 0, err
	}
	if owner.UserID != ic.p.User.ID || owner.ApplicationID != ic.app.ID || owner.ChannelID != in.ChannelID ||
		h.now().Sub(owner.CreatedAt) > InteractionTokenTTL {
		return discord.Message{}, 0, storage.ErrNotFound
	}
	var m discord.Message
	if err := json.Unmarshal(em.Data, &m); err != nil {
		return discord.Message{}, 0, fmt.Errorf("decode ephemeral message: %w", err)
	}
	return m, owner.ID, nil
}

// mustJSON encodes what was decoded from JSON (a message's components).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// checkModalSubmit checks a modal's submit against the modal the
// application opened for this person, once.
func (h *Homeserver) checkModalSubmit(ctx context.Context, ic *interactionCtx, in InteractionCreate) (modalData, *discord.Message, error) {
	var d modalData
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return d, nil, Invalid("data", "MODEL_TYPE_CONVERT", "Not a valid interaction data object.")
	}
	opener, err := h.store.Interaction(ctx, d.ID)
	if err != nil || opener.UserID != ic.p.User.ID || opener.ApplicationID != ic.app.ID || opener.ChannelID != in.ChannelID ||
		opener.ResponseType != discord.CallbackModal || h.now().Sub(opener.CreatedAt) > InteractionTokenTTL {
		return d, nil, Invalid("data.id", "INTERACTION_MODAL_UNKNOWN", "Unknown modal.")
	}
	st := readState(opener)
	if st.Modal == nil || st.Modal.CustomID != d.CustomID || st.ModalSubmitted {
		return d, nil, Invalid("data.custom_id", "INTERACTION_MODAL_UNKNOWN", "Unknown modal.")
	}
	inputs := modalInputs(*st.Modal)
	v := &ValidationError{}
	got := map[string]string{}
	for i, row := range d.Components {
		f := fmt.Sprintf("data.components.%d", i)
		var c discord.Component
		switch {
		case row.Type == discord.ComponentActionRow && len(row.Components) == 1:
			c = row.Components[0]
			f += ".components.0"
		case row.Type == discord.ComponentLabel && row.Component != nil:
			c = *row.Component
			f += ".component"
		default:
			v.Add(f, "COMPONENT_VALIDATION_FAILED", "Not a row of one text input.")
			continue
		}
		idx := slices.IndexFunc(inputs, func(x discord.Component) bool { return x.CustomID == c.CustomID })
		if c.Type != discord.ComponentTextInput || idx < 0 {
			v.Add(f+".custom_id", "COMPONENT_VALIDATION_FAILED", "Not one of the modal's inputs.")
			continue
		}
		if _, dup := got[c.CustomID]; dup {
			v.Add(f+".custom_id", "COMPONENT_VALIDATION_FAILED", "An input is answered once.")
			continue
		}
		got[c.CustomID] = c.Value
		lo, hi := textBounds(inputs[idx])
		required := inputs[idx].Required == nil || *inputs[idx].Required
		n := utf8.RuneCountInString(c.Value)
		if n > hi || (n < lo && (required || n > 0)) {
			v.Add(f+".value", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", lo, hi))
		}
	}
	for _, x := range inputs {
		if _, ok := got[x.CustomID]; !ok && (x.Required == nil || *x.Required) {
			v.Add("data.components", "BASE_TYPE_REQUIRED", fmt.Sprintf("The input %q is required.", x.CustomID))
		}
	}
	if err := v.Err(); err != nil {
		return d, nil, err
	}
	// Submitted once: the opener's state says so from now on.
	st.ModalSubmitted = true
	if err := h.update(ctx, func(tx storage.Tx, _ *events) error {
		return tx.SetInteractionOriginal(ctx, opener.ID, opener.OriginalID, st.encode())
	}); err != nil {
		return d, nil, domainErr("modal submit", err)
	}
	// The application receives the inputs as rows of {type, custom_id,
	// value}, nothing else the client sent.
	rows := make([]discord.Component, 0, len(got))
	for _, x := range inputs {
		if val, ok := got[x.CustomID]; ok {
			rows = append(rows, discord.Component{Type: discord.ComponentActionRow, Components: []discord.Component{
				{Type: discord.ComponentTextInput, CustomID: x.CustomID, Value: val}}})
		}
	}
	d.Components, d.ID = rows, 0
	var msg *discord.Message
	if opener.MessageID != 0 {
		if m, err := h.store.Message(ctx, opener.ChannelID, opener.MessageID); err == nil {
			if dm, err := h.renderMessage(ctx, h.store, m, ic.app.ID, false); err == nil {
				msg = &dm
			}
		}
	}
	return d, msg, nil
}

// resolveMentionable resolves a mentionable: a role of the guild when id
// names one, else a user.
func (h *Homeserver) resolveMentionable(ctx context.Context, ic *interactionCtx, v *ValidationError, f string, id snowflake.ID) {
	if ic.pl.guild != nil && slices.ContainsFunc(ic.pl.guild.roles, func(r storage.Role) bool { return r.ID == id }) {
		h.resolveRole(ctx, ic, v, f, id)
		return
	}
	h.resolveUser(ctx, ic, v, f, id)
}
