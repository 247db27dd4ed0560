package homeserver

import (
	"encoding/json"
	"fmt"
	"net/url"
	"unicode/utf8"

	"hearth/discord"
)

// Message components and modals, validated as Discord validates them:
// what a bot puts under a message (rows of buttons, or one select per
// row) and what it asks a person to fill in (a modal of text inputs).

// Component limits, Discord's.
const (
	maxRows          = 5
	maxButtonsPerRow = 5
	customIDMax      = 100
	buttonLabelMax   = 80
	placeholderMax   = 150
	maxSelectOptions = 25
	selectTextMax    = 100
	modalTitleMax    = 45
	textInputMax     = 4000
	textLabelMax     = 45
	textPlaceholder  = 100
)

// ValidateComponents checks a message's components; field is where the
// problems are recorded ("components", "data.components").
func ValidateComponents(v *ValidationError, field string, rows []discord.Component) {
	if len(rows) > maxRows {
		v.Add(field, "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
		return
	}
	ids := map[string]bool{}
	for i, row := range rows {
		f := fmt.Sprintf("%s.%d", field, i)
		if row.Type != discord.ComponentActionRow {
			v.Add(f, "UNION_TYPE_CHOICES", fmt.Sprintf("Value of field \"type\" must be one of (%d,).", discord.ComponentActionRow))
			continue
		}
		if len(row.Components) == 0 {
			v.Add(f+".components", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
			continue
		}
		buttons, selects := 0, 0
		for j := range row.Components {
			c := &row.Components[j]
			cf := fmt.Sprintf("%s.components.%d", f, j)
			switch c.Type {
			case discord.ComponentButton:
				buttons++
				validateButton(v, cf, c, ids)
			case discord.ComponentStringSelect, discord.ComponentUserSelect, discord.ComponentRoleSelect,
				discord.ComponentMentionableSelect, discord.ComponentChannelSelect:
				selects++
				validateSelect(v, cf, c, ids)
			default:
				v.Add(cf, "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (2, 3, 5, 6, 7, 8).")
			}
		}
		if buttons > maxButtonsPerRow {
			v.Add(f+".components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
		}
		if selects > 1 || selects == 1 && buttons > 0 {
			v.Add(f+".components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
		}
	}
}

func checkCustomID(v *ValidationError, f, id string, ids map[string]bool) {
	if n := utf8.RuneCountInString(id); n < 1 || n > customIDMax {
		v.Add(f+".custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		return
	}
	if ids[id] {
		v.Add(f+".custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
	}
	ids[id] = true
}

func validateButton(v *ValidationError, f string, c *discord.Component, ids map[string]bool) {
	if utf8.RuneCountInString(c.Label) > buttonLabelMax {
		v.Add(f+".label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.")
	}
	switch c.Style {
	case discord.ButtonPrimary, discord.ButtonSecondary, discord.ButtonSuccess, discord.ButtonDanger:
		if c.URL != "" {
			v.Add(f+".url", "BUTTON_URL_NOT_ALLOWED", "A button of this style cannot have a url")
		}
		checkCustomID(v, f, c.CustomID, ids)
	case discord.ButtonLink:
		if c.CustomID != "" {
			v.Add(f+".custom_id", "BUTTON_CUSTOM_ID_NOT_ALLOWED", "A link button cannot have a custom id")
		}
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "discord") || len(c.URL) > 512 {
			v.Add(f+".url", "URL_TYPE_INVALID_URL", "Not a well formed URL.")
		}
	case discord.ButtonPremium:
		// A premium button sells a SKU; Hearth has no store.
		v.Add(f+".sku_id", "BUTTON_SKU_ID_INVALID", "Premium buttons need a SKU, which this server does not have.")
	default:
		v.Add(f+".style", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6).")
	}
	if c.Label == "" && len(c.Emoji) == 0 && c.Style != discord.ButtonPremium {
		v.Add(f+".label", "BUTTON_LABEL_OR_EMOJI_REQUIRED", "A button needs a label or an emoji")
	}
}

func validateSelect(v *ValidationError, f string, c *discord.Component, ids map[string]bool) {
	checkCustomID(v, f, c.CustomID, ids)
	if utf8.RuneCountInString(c.Placeholder) > placeholderMax {
		v.Add(f+".placeholder", "BASE_TYPE_MAX_LENGTH", "Must be 150 or fewer in length.")
	}
	lo, hi := selectBounds(*c)
	if c.MinValues != nil && (*c.MinValues < 0 || *c.MinValues > maxSelectOptions) {
		v.Add(f+".min_values", "NUMBER_TYPE_MAX", "Must be between 0 and 25.")
	}
	if c.MaxValues != nil && (*c.MaxValues < 1 || *c.MaxValues > maxSelectOptions) {
		v.Add(f+".max_values", "NUMBER_TYPE_MAX", "Must be between 1 and 25.")
	}
	if lo > hi {
		v.Add(f+".min_values", "NUMBER_TYPE_MAX", "min_values must not exceed max_values")
	}
	if len(c.ChannelTypes) > 0 && c.Type != discord.ComponentChannelSelect {
		v.Add(f+".channel_types", "COMPONENT_INVALID", "Only channel selects have channel types")
	}
	if c.Type != discord.ComponentStringSelect {
		if len(c.Options) > 0 {
			v.Add(f+".options", "COMPONENT_INVALID", "Only string selects have options")
		}
		return
	}
	if n := len(c.Options); n < 1 || n > maxSelectOptions {
		v.Add(f+".options", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.")
	}
	if hi > len(c.Options) && len(c.Options) > 0 {
		v.Add(f+".max_values", "SELECT_COMPONENT_MAX_VALUES_TOO_HIGH", "max_values exceeds the number of options")
	}
	values := map[string]bool{}
	for k, o := range c.Options {
		of := fmt.Sprintf("%s.options.%d", f, k)
		if n := utf8.RuneCountInString(o.Label); n < 1 || n > selectTextMax {
			v.Add(of+".label", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		if n := utf8.RuneCountInString(o.Value); n < 1 || n > selectTextMax {
			v.Add(of+".value", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		if utf8.RuneCountInString(o.Description) > selectTextMax {
			v.Add(of+".description", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
		}
		if values[o.Value] {
			v.Add(of+".value", "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED", "Select option values must be unique")
		}
		values[o.Value] = true
	}
}

// selectBounds are a select's min and max values, Discord's defaults (1,
// 1) when unset.
func selectBounds(c discord.Component) (lo, hi int) {
	lo, hi = 1, 1
	if c.MinValues != nil {
		lo = *c.MinValues
	}
	if c.MaxValues != nil {
		hi = *c.MaxValues
	}
	return lo, hi
}

// ValidateModal checks a modal a bot opens: a title, a custom_id, and one
// to five rows of one text input each.
func ValidateModal(v *ValidationError, field string, m discord.Modal) {
	if n := utf8.RuneCountInString(m.Title); n < 1 || n > modalTitleMax {
		v.Add(field+".title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
	}
	ids := map[string]bool{}
	checkCustomID(v, field, m.CustomID, ids)
	if n := len(m.Components); n < 1 || n > maxRows {
		v.Add(field+".components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
		return
	}
	for i, row := range m.Components {
		f := fmt.Sprintf("%s.components.%d", field, i)
		input := row
		switch row.Type {
		case discord.ComponentActionRow:
			if len(row.Components) != 1 || row.Components[0].Type != discord.ComponentTextInput {
				v.Add(f+".components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A modal row holds exactly one text input")
				continue
			}
			input = row.Components[0]
			f += ".components.0"
		case discord.ComponentLabel:
			if row.Component == nil || row.Component.Type != discord.ComponentTextInput {
				v.Add(f+".component", "UNION_TYPE_CHOICES", "A label holds a text input")
				continue
			}
			input = *row.Component
			input.Label = row.Label
			f += ".component"
		default:
			v.Add(f, "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1, 18).")
			continue
		}
		checkCustomID(v, f, input.CustomID, ids)
		if input.Style != discord.TextInputShort && input.Style != discord.TextInputParagraph {
			v.Add(f+".style", "BASE_TYPE_CHOICES", "Value must be one of (1, 2).")
		}
		if row.Type == discord.ComponentActionRow {
			if n := utf8.RuneCountInString(input.Label); n < 1 || n > textLabelMax {
				v.Add(f+".label", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
			}
		}
		lo, hi := textBounds(input)
		if lo < 0 || lo > textInputMax {
			v.Add(f+".min_length", "NUMBER_TYPE_MAX", "Must be between 0 and 4000.")
		}
		if hi < 1 || hi > textInputMax || lo > hi {
			v.Add(f+".max_length", "NUMBER_TYPE_MAX", "Must be between 1 and 4000.")
		}
		if utf8.RuneCountInString(input.Value) > textInputMax {
			v.Add(f+".value", "BASE_TYPE_MAX_LENGTH", "Must be 4000 or fewer in length.")
		}
		if utf8.RuneCountInString(input.Placeholder) > textPlaceholder {
			v.Add(f+".placeholder", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
		}
	}
}

func textBounds(c discord.Component) (lo, hi int) {
	lo, hi = 0, textInputMax
	if c.MinLength != nil {
		lo = *c.MinLength
	}
	if c.MaxLength != nil {
		hi = *c.MaxLength
	}
	return lo, hi
}

// modalInputs lists a modal's text inputs.
func modalInputs(m discord.Modal) []discord.Component {
	var out []discord.Component
	for _, row := range m.Components {
		switch {
		case row.Type == discord.ComponentActionRow && len(row.Components) == 1:
			out = append(out, row.Components[0])
		case row.Type == discord.ComponentLabel && row.Component != nil:
			out = append(out, *row.Component)
		}
	}
	return out
}

// findComponent finds the interactive component with a custom_id among
// a message's rows.
func findComponent(rows []discord.Component, customID string) (discord.Component, bool) {
	for _, row := range rows {
		for _, c := range row.Components {
			if c.CustomID == customID && c.Type != discord.ComponentActionRow {
				return c, true
			}
		}
	}
	return discord.Component{}, false
}

// decodeComponents reads stored components.
func decodeComponents(b []byte) []discord.Component {
	var out []discord.Component
	_ = json.Unmarshal(b, &out) // written by this package: valid
	return out
}
