package charts_test

import (
	"context"
	"testing"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/charts"
)

// TestAmbientChartsLoadLikeTheOthers: the cni and ztunnel charts of the
// pinned Istio load by name from a chart directory and from a Helm
// repository, as base, istiod and gateway do.
func TestAmbientChartsLoadLikeTheOthers(t *testing.T) {
	repo := testcharts.NewRepo(t, "1.30.0")
	sources := map[string]charts.Source{
		"directory":  {Directory: testcharts.Directory(t)},
		"repository": {Repository: repo.URL, CacheDir: t.TempDir()},
	}
	for kind, src := range sources {
		for _, name := range []string{charts.CNI, charts.Ztunnel} {
			t.Run(kind+"/"+name, func(t *testing.T) {
				ch, err := src.Load(context.Background(), name, "1.30.0")
				if err != nil {
					t.Fatal(err)
				}
				if ch.Name() != name {
					t.Errorf("loaded %q, want %q", ch.Name(), name)
				}
			})
		}
	}
}
