package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"hearth/homeserver"
	"hearth/server"
)

// adminUsage lists the operator's commands.
const adminUsage = `usage: homeserver admin [flags] COMMAND [ARGS]

Works on the data dir (or --database) directly, whether the server runs or not.
Flags are the server's (--data, --database, --server-name, --listen, ...).

commands:
  create-user NAME       make an account; its password is read from stdin
                         (the first line) or HEARTH_ADMIN_PASSWORD
  reset-password NAME    set an account's password (as above); ends its sessions
  grant NAME             make an account an instance administrator
  revoke NAME            end an account's administration
  block SERVER           refuse a server: its requests, anything sent to it,
                         and its users' memberships in this server's guilds
  allow SERVER           allow a server (for --federation-allowlist)
  unblock SERVER         remove the rule about a server (also: unallow)
  rules                  list the federation rules
  badge grant NAME BADGE give an account one of this homeserver's badges
  badge revoke NAME BADGE
                         take it away; BADGE is one of staff, partner,
                         instance-admin, contributor, bug-hunter,
                         early-adopter, bridged
` + accountsUsage

// admin runs one operator command against the homeserver cfg names.
func admin(ctx context.Context, cfg server.Config, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(adminUsage)
	}
	cmd, rest := args[0], args[1:]
	if accountCommands[cmd] {
		adm, done, err := server.Admin(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		return accountCommand(ctx, adm, cmd, rest, stdout)
	}
	want := 1
	switch cmd {
	case "rules":
		want = 0
	case "badge":
		want = 3
	}
	if len(rest) != want {
		return fmt.Errorf("admin %s takes %d argument(s)\n\n%s", cmd, want, adminUsage)
	}
	adm, done, err := server.Admin(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	password := func() (string, error) {
		if pw := getenv("HEARTH_ADMIN_PASSWORD"); pw != "" {
			return pw, nil
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("no password on stdin (or in HEARTH_ADMIN_PASSWORD): %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	switch cmd {
	case "create-user":
		pw, err := password()
		if err != nil {
			return err
		}
		u, err := adm.CreateAccount(ctx, rest[0], pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (%d)\n", u.Username, u.ID)
	case "reset-password":
		pw, err := password()
		if err != nil {
			return err
		}
		if err := adm.ResetPassword(ctx, rest[0], pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s reset; its sessions ended\n", rest[0])
	case "grant":
		if err := adm.Grant(ctx, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s administers this homeserver\n", rest[0])
	case "revoke":
		if err := adm.Revoke(ctx, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s no longer administers this homeserver\n", rest[0])
	case "block", "allow":
		if err := adm.SetFederationRule(ctx, rest[0], cmd); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s\n", rest[0], cmd)
	case "unblock", "unallow":
		if err := adm.DeleteFederationRule(ctx, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: no rule\n", rest[0])
	case "rules":
		rules, err := adm.FederationRules(ctx)
		if err != nil {
			return err
		}
		for _, r := range rules {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", r.Server, r.Rule, r.CreatedAt.UTC().Format("2006-01-02 15:04:05"))
		}
	case "badge":
		// Profiles and badges (issue 13): one block, so that the other
		// account commands stay apart.
		var u homeserver.User
		switch rest[0] {
		case "grant":
			u, err = adm.GrantBadge(ctx, rest[1], rest[2])
		case "revoke":
			u, err = adm.RevokeBadge(ctx, rest[1], rest[2])
		default:
			return fmt.Errorf("admin badge %q: want grant or revoke\n\n%s", rest[0], adminUsage)
		}
		if err != nil {
			return err
		}
		var names []string
		for _, b := range homeserver.BadgeKinds {
			if u.Flags&b.Flag != 0 {
				names = append(names, b.Name)
			}
		}
		fmt.Fprintf(stdout, "%s has badges: %s\n", u.Username, strings.Join(names, " "))
	default:
		return fmt.Errorf("unknown admin command %q\n\n%s", cmd, adminUsage)
	}
	return nil
}

// isAdmin reports whether args ask for the admin command.
func isAdmin(args []string) bool { return len(args) > 0 && args[0] == "admin" }
