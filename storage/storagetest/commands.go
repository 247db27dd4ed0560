package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/storage"
)

// testApplicationCommands: commands are scoped by application and guild,
// unique by (type, name) in their scope, updated and deleted only through
// their own application; the guild index holds the guild's commands and
// the global commands of member bots only; permission overrides are set,
// replaced and cleared.
func testApplicationCommands(t *testing.T, s storage.Store) {
	ctx := context.Background()
	users := createUsers(t, s, 3)
	owner, bot1, bot2 := users[0], users[1], users[2]
	g := createGuild(t, s, "commands", false)
	other := createGuild(t, s, "other", false)
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(
			tx.CreateApplication(ctx, storage.Application{ID: bot1.ID, OwnerID: owner.ID, Name: "one", CreatedAt: time.Now()}),
			tx.CreateApplication(ctx, storage.Application{ID: bot2.ID, OwnerID: owner.ID, Name: "two", CreatedAt: time.Now()}),
			tx.AddMember(ctx, newMember(g.ID, bot1.ID)))
	})
	global := storage.ApplicationCommand{ID: ids.Next(), ApplicationID: bot1.ID, Type: 1, Name: "ping", Version: ids.Next(), Data: []byte(`{"description":"p"}`)}
	inGuild := storage.ApplicationCommand{ID: ids.Next(), ApplicationID: bot1.ID, GuildID: g.ID, Type: 1, Name: "ping", Version: ids.Next(), Data: []byte(`{}`)}
	inOther := storage.ApplicationCommand{ID: ids.Next(), ApplicationID: bot1.ID, GuildID: other.ID, Type: 2, Name: "Look", Version: ids.Next(), Data: []byte(`{}`)}
	notMember := storage.ApplicationCommand{ID: ids.Next(), ApplicationID: bot2.ID, Type: 1, Name: "ping", Version: ids.Next(), Data: []byte(`{}`)}
	update(t, s, func(tx storage.Tx) error {
		return errors.Join(tx.CreateApplicationCommand(ctx, global), tx.CreateApplicationCommand(ctx, inGuild),
			tx.CreateApplicationCommand(ctx, inOther), tx.CreateApplicationCommand(ctx, notMember))
	})
	err := s.Update(ctx, func(tx storage.Tx) error {
		dup := global
		dup.ID = ids.Next()
		return tx.CreateApplicationCommand(ctx, dup)
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("a second global command of the same type and name = %v, want ErrConflict", err)
	}
	if got, err := s.ApplicationCommand(ctx, bot1.ID, global.ID); err != nil || got.Name != "ping" || string(got.Data) != `{"description":"p"}` || got.Version != global.Version {
		t.Fatalf("ApplicationCommand = %+v, %v", got, err)
	}
	if _, err := s.ApplicationCommand(ctx, bot2.ID, global.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("another application's command = %v, want ErrNotFound", err)
	}
	if list, err := s.ApplicationCommands(ctx, bot1.ID, 0); err != nil || len(list) != 1 || list[0].ID != global.ID {
		t.Fatalf("global commands = %+v, %v", list, err)
	}
	if list, err := s.ApplicationCommands(ctx, bot1.ID, g.ID); err != nil || len(list) != 1 || list[0].ID != inGuild.ID {
		t.Fatalf("guild commands = %+v, %v", list, err)
	}
	index, err := s.GuildCommandIndex(ctx, g.ID)
	if err != nil || len(index) != 2 || index[0].ID != global.ID || index[1].ID != inGuild.ID {
		t.Fatalf("GuildCommandIndex = %+v, %v; want the member bot's global and guild commands", index, err)
	}
	global.Name, global.Version, global.Data = "pong", ids.Next(), []byte(`{"description":"q"}`)
	update(t, s, func(tx storage.Tx) error { return tx.UpdateApplicationCommand(ctx, global) })
	if got, _ := s.ApplicationCommand(ctx, bot1.ID, global.ID); got.Name != "pong" || got.Version != global.Version {
		t.Fatalf("after update: %+v", got)
	}
	err = s.Update(ctx, func(tx storage.Tx) error {
		stolen := global
		stolen.ApplicationID = bot2.ID
		return tx.UpdateApplicationCommand(ctx, stolen)
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("update through another application = %v, want ErrNotFound", err)
	}
	perms := storage.CommandPermissions{ApplicationID: bot1.ID, GuildID: g.ID, CommandID: inGuild.ID, Permissions: []byte(`[{"id":"1","type":1,"permission":true}]`)}
	update(t, s, func(tx storage.Tx) error { return tx.SetCommandPermissions(ctx, perms) })
	perms.Permissions = []byte(`[]`)
	update(t, s, func(tx storage.Tx) error { return tx.SetCommandPermissions(ctx, perms) })
	if list, err := s.CommandPermissions(ctx, bot1.ID, g.ID); err != nil || len(list) != 1 || string(list[0].Permissions) != `[]` {
		t.Fatalf("CommandPermissions = %+v, %v", list, err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteApplicationCommand(ctx, bot2.ID, inGuild.ID) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("delete through another application = %v", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteApplicationCommand(ctx, bot1.ID, inGuild.ID) })
	if list, err := s.CommandPermissions(ctx, bot1.ID, g.ID); err != nil || len(list) != 0 {
		t.Fatalf("permissions outlived their command: %+v, %v", list, err)
	}
	perms.Permissions = nil
	update(t, s, func(tx storage.Tx) error { return tx.SetCommandPermissions(ctx, perms) })
}
