package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/goccy/go-yaml"

	st "hearth/server/servertest"
)

// The deployment files live at the repository's root, two levels up.
const root = "../.."

// serverFlags is the homeserver's flag set, as `homeserver` defines it.
func serverFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("homeserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	o.define(fs)
	return fs
}

// composeEnvs are the environments the compose file is loaded with: none
// (every ${VAR:-default} at its default) and an operator's .env as the
// file's header asks for, bridge included.
var composeEnvs = map[string][]string{
	"defaults": nil,
	"operator .env": {
		"HEARTH_SERVER_NAME=chat.example.org", "HEARTH_PUBLIC_URL=https://chat.example.org",
		"POSTGRES_PASSWORD=a-long-random-password", "GRAFANA_ADMIN_PASSWORD=another-one",
		"HEARTH_REGISTRATION=invite",
		"HEARTH_BRIDGE_SERVER_NAME=discord.example.org", "HEARTH_BRIDGE_PUBLIC_URL=https://discord.example.org",
		"HEARTH_BRIDGE_DISCORD_TOKEN=bot-token",
	},
}

// loadCompose loads a compose file the way `docker compose --profile
// bridge config` does (compose-go: schema validation, interpolation,
// normalisation, consistency checks) with the environment env and no
// other: neither the test's own environment nor a stray .env counts.
func loadCompose(t *testing.T, file string, env []string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnv(env),
		cli.WithDiscardEnvFile,
		cli.WithProfiles([]string{"bridge"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(t.Context())
}

// checkSetting fails unless HEARTH_<NAME>=value names a flag of the
// binary and the flag accepts the value.
func checkSetting(t *testing.T, fs *flag.FlagSet, where, name, value string) {
	t.Helper()
	flagName := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, "HEARTH_")), "_", "-")
	f := fs.Lookup(flagName)
	if f == nil {
		t.Errorf("%s sets %s, but the homeserver has no flag --%s", where, name, flagName)
		return
	}
	if err := f.Value.Set(value); err != nil {
		t.Errorf("%s: %s=%q is refused by --%s: %v", where, name, value, flagName, err)
	}
}

// TestComposeFileIsChecked: the compose loader the deployment tests use
// refuses what `docker compose config` refuses (a key the schema lacks, a
// value of the wrong type, a dependency on a service not there, a volume
// not declared), so a pass of TestComposeSettingsAreFlags means something.
func TestComposeFileIsChecked(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, from, to string }{
		{"unknown key", "    restart: unless-stopped\n", "    restart: unless-stopped\n    restarts: always\n"},
		{"wrong type", "      retries: 12\n", "      retries: twelve\n"},
		{"missing dependency", "      postgres:\n        condition: service_healthy", "      postgress:\n        condition: service_healthy"},
		{"undeclared volume", "      - hearth-data:/data\n", "      - hearth-dat:/data\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(string(raw), c.from) {
				t.Fatalf("docker-compose.yml no longer holds %q: pick another line to break", c.from)
			}
			bad := filepath.Join(t.TempDir(), "docker-compose.yml")
			if err := os.WriteFile(bad, []byte(strings.Replace(string(raw), c.from, c.to, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadCompose(t, bad, nil)
			if err == nil {
				t.Fatalf("a compose file with a %s loaded", c.name)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestComposeSettingsAreFlags: every setting docker-compose.yml and the
// Dockerfile pass to the homeserver is a flag it knows, with a value the
// flag accepts; the files the compose file mounts exist; and `docker
// compose config` accepts it where Docker is installed with Compose.
func TestComposeSettingsAreFlags(t *testing.T) {
	for envName, env := range composeEnvs {
		t.Run(envName, func(t *testing.T) {
			p, err := loadCompose(t, filepath.Join(root, "docker-compose.yml"), env)
			if err != nil {
				t.Fatalf("docker-compose.yml does not validate: %v", err)
			}
			for _, want := range []string{"homeserver", "postgres", "prometheus", "grafana", "bridge"} {
				if _, ok := p.Services[want]; !ok {
					t.Errorf("docker-compose.yml has no %s service (with the bridge profile on)", want)
				}
			}
			hs := p.Services["homeserver"]
			fs := serverFlags()
			if len(hs.Environment) == 0 {
				t.Fatal("the homeserver service sets no environment: the test would check nothing")
			}
			for k, v := range hs.Environment {
				switch {
				case !strings.HasPrefix(k, "HEARTH_"):
					t.Errorf("docker-compose.yml: %s is no HEARTH_ setting; the homeserver reads only those", k)
				case v == nil:
					t.Errorf("docker-compose.yml: %s has no value", k)
				default:
					checkSetting(t, fs, "docker-compose.yml", k, *v)
				}
			}
			args := []string(hs.Command)
			for i := 0; i < len(args); i++ {
				a := args[i]
				if !strings.HasPrefix(a, "-") {
					t.Errorf("docker-compose.yml: command argument %q is not a flag", a)
					continue
				}
				name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
				f := fs.Lookup(name)
				if f == nil {
					t.Errorf("docker-compose.yml passes --%s, which the homeserver does not know", name)
					continue
				}
				if !hasValue {
					if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
						value = "true"
					} else if i+1 < len(args) {
						i++
						value = args[i]
					}
				}
				if err := f.Value.Set(value); err != nil {
					t.Errorf("docker-compose.yml: --%s %q: %v", name, value, err)
				}
			}
			// The PostgreSQL URL is one the homeserver takes, with the
			// password the postgres service is given.
			db := hs.Environment["HEARTH_DATABASE"]
			pg := p.Services["postgres"].Environment["POSTGRES_PASSWORD"]
			if db == nil || !strings.HasPrefix(*db, "postgres://") {
				t.Errorf("HEARTH_DATABASE %v is not a postgres:// URL", db)
			} else if pg == nil || !strings.Contains(*db, ":"+*pg+"@") {
				t.Errorf("HEARTH_DATABASE %q does not carry the postgres service's password", *db)
			}
			// What the compose file mounts from the repository exists.
			for name, svc := range p.Services {
				for _, v := range svc.Volumes {
					if v.Type != types.VolumeTypeBind {
						continue
					}
					if _, err := os.Stat(v.Source); err != nil {
						t.Errorf("service %s mounts %s, which is missing: %v", name, v.Source, err)
					}
				}
			}
		})
	}

	// The Dockerfile's ENV lines are settings too.
	fs := serverFlags()
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerEnv := regexp.MustCompile(`(HEARTH_[A-Z_]+)=(\S+)`).FindAllStringSubmatch(string(df), -1)
	if len(dockerEnv) == 0 {
		t.Fatal("the Dockerfile sets no HEARTH_ setting")
	}
	for _, m := range dockerEnv {
		checkSetting(t, fs, "Dockerfile", m[1], strings.TrimSuffix(m[2], `\`))
	}
	for _, want := range []string{"CGO_ENABLED=0", "USER 10001", "HEALTHCHECK", "/healthz"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}

	if exec.Command("docker", "compose", "version").Run() == nil {
		cmd := exec.Command("docker", "compose", "-f", filepath.Join(root, "docker-compose.yml"), "config", "--quiet")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docker compose config: %v\n%s", err, out)
		}
	} else {
		t.Log("docker compose is not installed: its own check of the file did not run")
	}
}

// promqlMetrics picks the metric names out of a PromQL expression: what is
// left once strings, label matchers, ranges and grouping clauses are gone,
// less functions, keywords and numbers.
func promqlMetrics(expr string) []string {
	for _, re := range []string{`"(?:[^"\\]|\\.)*"`, `\{[^}]*\}`, `\[[^\]]*\]`, `\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`, `\b\d[\w.]*`} {
		expr = regexp.MustCompile(re).ReplaceAllString(expr, " ")
	}
	keywords := map[string]bool{"and": true, "or": true, "unless": true, "offset": true, "bool": true, "by": true, "without": true, "inf": true, "nan": true, "group_left": true, "group_right": true, "on": true, "ignoring": true}
	var out []string
	for _, m := range regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?`).FindAllStringSubmatch(expr, -1) {
		if m[2] != "" || keywords[strings.ToLower(m[1])] {
			continue
		}
		out = append(out, m[1])
	}
	return out
}

// knownMetric says whether name is exported by the server (a histogram's
// series by its base name) or by Prometheus itself.
func knownMetric(names []string, name string) bool {
	if name == "up" || name == "ALERTS" {
		return true
	}
	if slices.Contains(names, name) {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(names, base) {
			return true
		}
	}
	return false
}

// TestAlertRulesNameRealMetrics: deploy/prometheus/alerts.yml has the
// alerts the operations guide promises, each well formed, and names only
// metrics a running homeserver registers; promtool checks the rules and
// the Prometheus configuration where it is installed.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	names := st.Start(t, st.Options{}).MetricNames()
	path := filepath.Join(root, "deploy", "prometheus", "alerts.yml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.UnmarshalWithOptions(raw, &rules, yaml.Strict()); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	ops, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			seen[r.Alert] = true
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("rule %q lacks an alert name, expr, severity, summary or description", r.Alert)
			}
			metrics := promqlMetrics(r.Expr)
			if len(metrics) == 0 {
				t.Errorf("rule %s names no metric: %s", r.Alert, r.Expr)
			}
			for _, m := range metrics {
				if !knownMetric(names, m) {
					t.Errorf("rule %s names %s, which the homeserver does not export", r.Alert, m)
				}
			}
			if !strings.Contains(string(ops), "### "+r.Alert) {
				t.Errorf("docs/operations.md does not explain the alert %s (a heading ### %s)", r.Alert, r.Alert)
			}
		}
	}
	for _, want := range []string{"HearthDown", "HearthNotReady", "HearthHigh5xxRate", "HearthFederationLagGrowing",
		"HearthGatewaySessionsDropped", "HearthDatabasePoolExhausted", "HearthDiskAlmostFull"} {
		if !seen[want] {
			t.Errorf("alerts.yml lacks %s", want)
		}
	}
	// Every metric the homeserver exports is in the operations guide's
	// catalogue (Go's own runtime metrics aside).
	for _, n := range names {
		if strings.HasPrefix(n, "hearth_") && !strings.Contains(string(ops), "`"+n+"`") {
			t.Errorf("docs/operations.md does not list the metric %s", n)
		}
	}

	if promtool, err := exec.LookPath("promtool"); err == nil {
		if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
		// The configuration names the rules where the container mounts
		// them; checked here with the path of the repository's copy.
		cfg, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "prometheus.yml"))
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(path)
		tmp := filepath.Join(t.TempDir(), "prometheus.yml")
		if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(string(cfg), "/etc/prometheus/alerts.yml", abs)), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(promtool, "check", "config", tmp).CombinedOutput(); err != nil {
			t.Errorf("promtool check config: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool is not installed: the rules were checked by this test alone")
	}
}

// TestDashboardNamesRealMetrics: the Grafana dashboard parses, uses the
// data source the provisioning file makes, and queries only metrics the
// homeserver registers.
func TestDashboardNamesRealMetrics(t *testing.T) {
	names := st.Start(t, st.Options{}).MetricNames()
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "hearth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("hearth.json: %v", err)
	}
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	dsRaw, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(dsRaw, &ds); err != nil || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" {
		t.Fatalf("datasource provisioning: %v %+v", err, ds)
	}
	if len(dash.Panels) < 10 {
		t.Fatalf("the dashboard has %d panels", len(dash.Panels))
	}
	for _, p := range dash.Panels {
		if p.Datasource.UID != ds.Datasources[0].UID {
			t.Errorf("panel %q uses data source %q, not the provisioned %q", p.Title, p.Datasource.UID, ds.Datasources[0].UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, m := range promqlMetrics(q.Expr) {
				if !knownMetric(names, m) {
					t.Errorf("panel %q queries %s, which the homeserver does not export", p.Title, m)
				}
			}
		}
	}
}

// TestPromQLMetricNames keeps the name extraction honest: it finds the
// metrics, and not functions, labels, keywords or strings.
func TestPromQLMetricNames(t *testing.T) {
	got := promqlMetrics(`sum by (instance, le) (rate(hearth_a_bucket{status=~"5..", x="y"}[5m])) / on(instance) group_left hearth_b offset 10m > 0.1 and up{job="hearth"} == 0 unless histogram_quantile(0.9, c)`)
	want := []string{"hearth_a_bucket", "hearth_b", "up", "c"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !knownMetric([]string{"hearth_a"}, "hearth_a_bucket") || knownMetric([]string{"hearth_a"}, "hearth_b") {
		t.Fatal("knownMetric")
	}
}
