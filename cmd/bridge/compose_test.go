package main

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

// TestComposeBridgeSettingsAreFlags: docker-compose.yml has the bridge as a
// service (issue 15), it validates with the bridge profile on (compose-go,
// the loader of `docker compose config`), the service runs this binary, and
// every HEARTH_BRIDGE_ setting it passes is a flag the bridge knows with a
// value the flag accepts; its health check asks the port it listens on.
func TestComposeBridgeSettingsAreFlags(t *testing.T) {
	file := filepath.Join("..", "..", "docker-compose.yml")
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnv([]string{"HEARTH_BRIDGE_SERVER_NAME=discord.example.org",
			"HEARTH_BRIDGE_PUBLIC_URL=https://discord.example.org", "HEARTH_BRIDGE_DISCORD_TOKEN=bot-token"}),
		cli.WithDiscardEnvFile,
		cli.WithProfiles([]string{"bridge"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker-compose.yml does not validate: %v", err)
	}
	br, ok := p.Services["bridge"]
	if !ok {
		t.Fatalf("docker-compose.yml has no bridge service (services: %v)", p.ServiceNames())
	}
	if got := strings.Join(br.Entrypoint, " "); got != "/usr/local/bin/bridge" {
		t.Errorf("the bridge service runs %q, not /usr/local/bin/bridge (where the Dockerfile puts cmd/bridge)", got)
	}
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	o.define(fs, "")
	if len(br.Environment) == 0 {
		t.Fatal("the bridge service sets no environment: the test would check nothing")
	}
	for k, v := range br.Environment {
		name, ok := strings.CutPrefix(k, "HEARTH_BRIDGE_")
		if !ok {
			t.Errorf("the bridge service sets %s, which is no HEARTH_BRIDGE_ setting; the bridge reads only those", k)
			continue
		}
		flagName := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		f := fs.Lookup(flagName)
		switch {
		case f == nil:
			t.Errorf("the bridge service sets %s, but the bridge has no flag --%s", k, flagName)
		case v == nil:
			t.Errorf("the bridge service's %s has no value", k)
		default:
			if err := f.Value.Set(*v); err != nil {
				t.Errorf("the bridge service's %s=%q is refused by --%s: %v", k, *v, flagName, err)
			}
		}
	}
	if len(br.Command) > 0 {
		if err := fs.Parse(br.Command); err != nil || fs.NArg() > 0 {
			t.Errorf("the bridge service's command %q is not flags the bridge knows: %v", br.Command, err)
		}
	}
	if o.token != "bot-token" {
		t.Errorf("the bridge service does not pass HEARTH_BRIDGE_DISCORD_TOKEN from .env (got %q)", o.token)
	}
	listen := fs.Lookup("listen").Value.String()
	_, port, _ := strings.Cut(listen, ":")
	if br.HealthCheck == nil || !strings.Contains(strings.Join(br.HealthCheck.Test, " "), ":"+port+"/healthz") {
		t.Errorf("the bridge's health check does not ask /healthz on its port %s", port)
	}
}
