package homeserver

import (
	"hearth/homeserver/replica"
	"hearth/storage"
)

// replicaScope is what the replica's writes may reach: its guild, or for a DM
// replica its one channel. Every storage write the applier makes passes
// it, so that an ID that resolves outside the replica (a local guild's
// message, another origin's role) finds nothing rather than being changed.
func replicaScope(rl replicaLog) storage.Scope {
	if rl.Guild {
		return storage.InGuild(rl.ID)
	}
	return storage.InDM(rl.ID)
}

// replicaTarget is the replica as package replica names it.
func replicaTarget(rl replicaLog) replica.Target { return replica.Target(rl) }
