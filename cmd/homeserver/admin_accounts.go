package main

import (
	"context"
	"fmt"
	"io"

	"hearth/homeserver"
)

// The account and guild commands of issue 13 (closing accounts,
// registration tokens, guilds), kept apart from the first admin commands.

// accountsUsage lists them, for adminUsage.
const accountsUsage = `  deactivate NAME        close an account: signed out everywhere (live
                         connections close), shown as a deleted user, its
                         messages kept; it cannot sign in again
`

// accountCommand runs one of them; ok is false for a command not theirs.
func accountCommand(ctx context.Context, adm *homeserver.Admin, cmd string, rest []string, stdout io.Writer) (ok bool, err error) {
	switch cmd {
	case "deactivate":
		if err := adm.Deactivate(ctx, rest[0]); err != nil {
			return true, err
		}
		fmt.Fprintf(stdout, "%s deactivated; its sessions ended\n", rest[0])
		return true, nil
	}
	return false, nil
}
