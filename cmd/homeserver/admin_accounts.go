package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"hearth/homeserver"
	"hearth/snowflake"
)

// The account and guild commands of issue 13 (closing accounts,
// registration tokens, guilds), kept apart from the first admin commands.

// accountsUsage lists them, for adminUsage.
const accountsUsage = `  deactivate NAME        close an account: signed out everywhere (live
                         connections close), shown as a deleted user, its
                         messages kept; it cannot sign in again
  registration-token create [--uses N] [--expires 24h]
                         make a token for --registration invite (N accounts,
                         0 for any number; --expires 0 for never); it is
                         printed once
  registration-token list
                         list the tokens: id, uses, max uses, expiry
  registration-token revoke ID
                         revoke a token
  guilds                 list this server's guilds: id, name, owner, members
  delete-guild ID        delete one of this server's guilds, whoever owns it
`

// accountCommands are the commands accountCommand runs.
var accountCommands = map[string]bool{"deactivate": true, "registration-token": true, "guilds": true, "delete-guild": true}

// accountCommand runs one of accountCommands.
func accountCommand(ctx context.Context, adm *homeserver.Admin, cmd string, rest []string, stdout io.Writer) error {
	switch cmd {
	case "deactivate":
		if len(rest) != 1 {
			return fmt.Errorf("admin deactivate takes an account name\n\n%s", adminUsage)
		}
		if err := adm.Deactivate(ctx, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s deactivated; its sessions ended\n", rest[0])
		return nil
	case "registration-token":
		return registrationToken(ctx, adm, rest, stdout)
	case "guilds":
		if len(rest) != 0 {
			return errors.New("admin guilds takes no argument")
		}
		gs, err := adm.Guilds(ctx)
		if err != nil {
			return err
		}
		for _, g := range gs {
			fmt.Fprintf(stdout, "%d\t%s\t%s\t%d\n", g.ID, g.Name, g.Owner, g.Members)
		}
		return nil
	case "delete-guild":
		if len(rest) != 1 {
			return errors.New("admin delete-guild takes a guild's id")
		}
		id, err := snowflake.Parse(rest[0])
		if err != nil {
			return fmt.Errorf("admin delete-guild: %q is not a guild id", rest[0])
		}
		if err := adm.DeleteGuild(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "guild %d deleted\n", id)
		return nil
	}
	return fmt.Errorf("unknown admin command %q\n\n%s", cmd, adminUsage)
}

// registrationToken runs registration-token create, list or revoke.
func registrationToken(ctx context.Context, adm *homeserver.Admin, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("admin registration-token takes create, list or revoke\n\n" + adminUsage)
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("registration-token create", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		uses := fs.Int("uses", 1, "how many accounts the token makes (0: any number)")
		expires := fs.Duration("expires", 7*24*time.Hour, "how long the token lasts (0: until revoked)")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("admin registration-token create: %w", err)
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("admin registration-token create: unexpected argument %q", fs.Arg(0))
		}
		tok, t, err := adm.CreateRegistrationToken(ctx, *uses, *expires)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n(id %d; %s)\n", tok, t.ID, describeToken(t))
	case "list":
		if len(args) != 1 {
			return errors.New("admin registration-token list takes no argument")
		}
		ts, err := adm.RegistrationTokens(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			fmt.Fprintf(stdout, "%d\t%s\n", t.ID, describeToken(t))
		}
	case "revoke":
		if len(args) != 2 {
			return errors.New("admin registration-token revoke takes a token's id")
		}
		id, err := snowflake.Parse(args[1])
		if err != nil {
			return fmt.Errorf("admin registration-token revoke: %q is not a token id", args[1])
		}
		if err := adm.RevokeRegistrationToken(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "registration token %d revoked\n", id)
	default:
		return fmt.Errorf("unknown registration-token command %q\n\n%s", args[0], adminUsage)
	}
	return nil
}

// describeToken says how far a token has been used and when it expires.
func describeToken(t homeserver.RegistrationToken) string {
	max := "any number"
	if t.UsesAllowed > 0 {
		max = fmt.Sprint(t.UsesAllowed)
	}
	exp := "never expires"
	if !t.ExpiresAt.IsZero() {
		exp = "expires " + t.ExpiresAt.UTC().Format("2006-01-02 15:04:05")
	}
	return fmt.Sprintf("used %d of %s; %s", t.Uses, max, exp)
}
