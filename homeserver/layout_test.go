package homeserver

import (
	"os/exec"
	"strings"
	"testing"

	"hearth/homeserver/replica"
)

// federationHalf are the packages of the domain's federation half
// (spec/federation.md §14, "Where the federation half lives"): the domain
// calls them, never the reverse.
var federationHalf = []string{
	"hearth/homeserver/globalid",
	"hearth/homeserver/wire",
	"hearth/homeserver/remotefiles",
	"hearth/homeserver/replica",
	"hearth/homeserver/origin",
	"hearth/homeserver/acts",
	"hearth/homeserver/forward",
}

// outward are the packages the federation half may not reach, directly or
// through another package: the domain itself, whose transaction path stays
// unexported, and every adapter and wiring package.
var outward = []string{
	"hearth/homeserver",
	"hearth/clientapi",
	"hearth/federation",
	"hearth/bridge",
	"hearth/server",
	"hearth/cmd",
	"hearth/mail",
	"hearth/metrics",
}

// TestFederationHalfImports makes the arrow rule checkable: no package of
// the federation half depends on the domain package or on an adapter.
func TestFederationHalfImports(t *testing.T) {
	for _, pkg := range federationHalf {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 || deps[len(deps)-1] != pkg {
			t.Fatalf("go list %s listed %v, not the package and its dependencies", pkg, deps)
		}
		for _, d := range deps {
			for _, o := range outward {
				if d == o || (o != "hearth/homeserver" && strings.HasPrefix(d, o+"/")) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}

// TestReplicaKeepsTheDomainsBounds: the bounds the replica package keeps
// on its own (it may not import the domain) are the domain's.
func TestReplicaKeepsTheDomainsBounds(t *testing.T) {
	if replica.WebhookNameMax != WebhookNameMax {
		t.Errorf("replica.WebhookNameMax = %d, the domain's is %d", replica.WebhookNameMax, WebhookNameMax)
	}
}
