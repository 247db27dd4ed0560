package homeserver

import (
	"hearth/homeserver/replica"
	"hearth/storage"
)

// scope is what the replica's writes may reach: its guild, or for a DM
// replica its one channel. Every storage write the applier makes passes
// it, so that an ID that resolves outside the replica (a local guild's
// message, another origin's role) finds nothing rather than being changed.
// It lives here rather than beside replicaLog so that replica.go, rewritten
// in parallel, only passes it.
func (rl replicaLog) scope() storage.Scope {
	if rl.Guild {
		return storage.InGuild(rl.ID)
	}
	return storage.InDM(rl.ID)
}

// target is the replica as package replica names it.
func (rl replicaLog) target() replica.Target { return replica.Target(rl) }
