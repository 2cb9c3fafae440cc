package gatewayapi_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
)

const gw = "gateways.gateway.networking.k8s.io"

func TestDecide(t *testing.T) {
	tests := map[string]struct {
		in         gatewayapi.Installed
		want       gatewayapi.Action
		reasonHave string
	}{
		"absent is created": {
			gatewayapi.Installed{Name: gw}, gatewayapi.Create, "absent",
		},
		"the same release, someone else's, is kept": {
			gatewayapi.Installed{Name: gw, Exists: true, BundleVersion: "v1.5.1", Channel: "standard"}, gatewayapi.Keep, "left as it is",
		},
		"the same release, ristio's, is kept": {
			gatewayapi.Installed{Name: gw, Exists: true, BundleVersion: "v1.5.1", Channel: "standard", Managed: true}, gatewayapi.Keep, "left as it is",
		},
		"a newer minor, someone else's, is kept": {
			gatewayapi.Installed{Name: gw, Exists: true, BundleVersion: "v1.6.0", Channel: "standard"}, gatewayapi.Keep, "v1.6.0",
		},
		"a newer experimental release is kept": {
			gatewayapi.Installed{Name: gw, Exists: true, BundleVersion: "v1.5.2", Channel: "experimental"}, gatewayapi.Keep, "experimental channel",
		},
		"an older release ristio installed is upgraded": {
			gatewayapi.Installed{Name: gw, Exists: true, BundleVersion: "v1.4.0", Channel: "standard", Managed: true}, gatewayapi.Upgrade, "upgraded to v1.5.1",
		},
		"an older release someone else installed is refused": {
			gatewayapi.Installed{Name: gw, Exists: true, BundleVersion: "v1.2.0", Channel: "standard"}, gatewayapi.Refuse, "upgrade the Gateway API CRDs to v1.5.1 or later yourself",
		},
		"a pre-release of the pinned one is older": {
			gatewayapi.Installed{Name: gw, Exists: true, BundleVersion: "v1.5.1-rc.1"}, gatewayapi.Refuse, "older",
		},
		"another major version is refused even when ristio's": {
			gatewayapi.Installed{Name: gw, Exists: true, BundleVersion: "v2.0.0", Managed: true}, gatewayapi.Refuse, "another major version",
		},
		"no bundle version, someone else's, is refused": {
			gatewayapi.Installed{Name: gw, Exists: true}, gatewayapi.Refuse, "cannot tell",
		},
		"no bundle version, ristio's, is rewritten": {
			gatewayapi.Installed{Name: gw, Exists: true, Managed: true}, gatewayapi.Upgrade, "rewrites it",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			d := gatewayapi.Decide("v1.5.1", tt.in)
			if d.Action != tt.want {
				t.Errorf("Decide() = %s (%s), want %s", d.Action, d.Reason, tt.want)
			}
			if !strings.Contains(d.Reason, tt.reasonHave) || !strings.Contains(d.Reason, gw) {
				t.Errorf("reason %q should name the CRD and contain %q", d.Reason, tt.reasonHave)
			}
		})
	}
}

func TestMayDelete(t *testing.T) {
	tests := map[string]struct {
		in    gatewayapi.Installed
		inUse int
		want  bool
	}{
		"ristio's and unused":       {gatewayapi.Installed{Name: gw, Exists: true, Managed: true}, 0, true},
		"ristio's but still in use": {gatewayapi.Installed{Name: gw, Exists: true, Managed: true}, 2, false},
		"someone else's, unused":    {gatewayapi.Installed{Name: gw, Exists: true}, 0, false},
		"already gone":              {gatewayapi.Installed{Name: gw}, 0, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, why := gatewayapi.MayDelete(tt.in, tt.inUse)
			if got != tt.want || !strings.Contains(why, gw) {
				t.Errorf("MayDelete() = %v, %q; want %v and a reason naming the CRD", got, why, tt.want)
			}
		})
	}
}

func TestInstalledFrom(t *testing.T) {
	if got := gatewayapi.InstalledFrom(gw, nil); got.Exists || got.Name != gw {
		t.Errorf("InstalledFrom(nil) = %+v", got)
	}
	// A pinned CRD, as ristio creates it, reads back as ristio's at the pinned release.
	for _, c := range gatewayapi.CRDs() {
		in := gatewayapi.InstalledFrom(c.GetName(), c)
		if !in.Exists || !in.Managed || in.BundleVersion != gatewayapi.Version() || in.Channel != "standard" {
			t.Errorf("%s reads back as %+v", c.GetName(), in)
		}
		if d := gatewayapi.Decide(gatewayapi.Version(), in); d.Action != gatewayapi.Keep {
			t.Errorf("%s: a second run would %s it: %s", c.GetName(), d.Action, d.Reason)
		}
	}
	foreign := &unstructured.Unstructured{}
	foreign.SetAnnotations(map[string]string{gatewayapi.BundleVersionAnnotation: "v1.3.0"})
	if in := gatewayapi.InstalledFrom(gw, foreign); in.Managed || in.BundleVersion != "v1.3.0" {
		t.Errorf("foreign CRD reads back as %+v", in)
	}
}
