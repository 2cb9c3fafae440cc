package helm

import (
	"context"
	"strings"
	"testing"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

func TestRenderNeedsNoCluster(t *testing.T) {
	manifest, err := Render(demoChart("1.0.0"), "demo", "istio-system", map[string]any{"a": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(manifest, `a: "1"`) || !strings.Contains(manifest, `fromChart: "default"`) {
		t.Errorf("manifest does not hold the values:\n%s", manifest)
	}
	if strings.Contains(manifest, "demo-post-install") {
		t.Errorf("hooks are rendered:\n%s", manifest)
	}
	if _, err := Render(demoChart("1.0.0"), "demo", "istio-system", map[string]any{"fail": true}); err == nil || !strings.Contains(err.Error(), "asked to fail") {
		t.Errorf("a failing template: %v", err)
	}
}

func TestReconfigureKeepsChartAndOwner(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.Owner = "first"
	if _, err := f.Apply(ctx, "demo", demoChart("1.2.0"), map[string]any{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	f.Owner = "second"
	rel, err := f.Reconfigure(ctx, "demo", func(v map[string]any) { v["b"] = "2" })
	if err != nil {
		t.Fatal(err)
	}
	if rel.Revision != 2 || rel.ChartVersion != "1.2.0" || rel.Owner != naming.OwnerLabelValue("first") {
		t.Errorf("Reconfigure() = %+v, want revision 2 of chart 1.2.0 still owned by first", rel)
	}
	if got, _ := f.Get(ctx, "demo"); got.Values["a"] != "1" || got.Values["b"] != "2" {
		t.Errorf("values after Reconfigure: %v", got.Values)
	}
	if rel, err := f.Reconfigure(ctx, "absent", func(map[string]any) {}); rel != nil || err != nil {
		t.Errorf("Reconfigure of a missing release: %v, %v", rel, err)
	}
}
