package provider

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/charts"
)

// The provider's checks and chart loading share one rule of an exact Istio
// version: what Check accepts, Load accepts, and the other way round.
func TestIstioVersionCheckIsTheChartsRule(t *testing.T) {
	tests := map[string]struct {
		version    string
		wantReason string // empty when the version is accepted
	}{
		"the default version":               {version: DefaultIstioVersion},
		"a prerelease":                      {version: "1.29.0-beta.1"},
		"a leading v":                       {version: "v1.30.5", wantReason: `starts with "v"`},
		"a partial version":                 {version: "1.30", wantReason: "not an exact semantic version"},
		"a leading zero":                    {version: "1.030.5", wantReason: "not an exact semantic version"},
		"an empty prerelease identifier":    {version: "1.30.5-rc..1", wantReason: "not an exact semantic version"},
		"build metadata, no image tag":      {version: "1.30.5+build", wantReason: "build metadata"},
		"a numeric prerelease with a zero":  {version: "1.30.5-01", wantReason: "not an exact semantic version"},
		"a range":                           {version: ">=1.30.0", wantReason: "not an exact semantic version"},
		"nothing":                           {version: "", wantReason: "exact version"},
		"a prerelease with several dashes":  {version: "1.30.0-alpha-1.2"},
		"a version with a trailing newline": {version: "1.30.5\n", wantReason: "not an exact semantic version"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			chartsAccept := charts.ValidateVersion(tc.version) == nil
			version := tc.version
			meshRefuses := strings.Contains(fmt.Sprint(validateMesh(MultiClusterMeshArgs{IstioVersion: &version}, time.Now())), "istioVersion:")
			if meshRefuses == chartsAccept {
				t.Errorf("the mesh's validation refuses istioVersion %q: %v, charts.ValidateVersion accepts it: %v", tc.version, meshRefuses, chartsAccept)
			}
			failures := checkIstioVersion("istioVersion", "cluster1", tc.version)
			if tc.wantReason == "" {
				if len(failures) != 0 || !chartsAccept {
					t.Fatalf("%q refused: %+v", tc.version, failures)
				}
				return
			}
			if len(failures) != 1 || failures[0].Property != "istioVersion" {
				t.Fatalf("failures %+v, want one on istioVersion", failures)
			}
			for _, want := range []string{`cluster "cluster1"`, "istioVersion", tc.wantReason} {
				if !strings.Contains(failures[0].Reason, want) {
					t.Errorf("reason %q does not contain %q", failures[0].Reason, want)
				}
			}
		})
	}
}
