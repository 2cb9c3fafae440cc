package gatewayapi_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

func TestPinnedCRDs(t *testing.T) {
	crds := gatewayapi.CRDs()
	if v := gatewayapi.Version(); v != "v1.5.1" {
		t.Errorf("Version() = %q, want v1.5.1 (what the pinned istio.io/istio requires)", v)
	}
	byName := map[string]bool{}
	for i, c := range crds {
		byName[c.GetName()] = true
		if i > 0 && crds[i-1].GetName() >= c.GetName() {
			t.Errorf("not sorted: %s before %s", crds[i-1].GetName(), c.GetName())
		}
		if got := c.GetAnnotations()[gatewayapi.ChannelAnnotation]; got != "standard" {
			t.Errorf("%s: channel %q, want standard", c.GetName(), got)
		}
		if got := c.GetLabels()[naming.ManagedByLabel]; got != naming.ManagedByValue {
			t.Errorf("%s: %s = %q, want %q", c.GetName(), naming.ManagedByLabel, got, naming.ManagedByValue)
		}
	}
	// The east-west gateway needs these two; istiod's routes the others.
	for _, want := range []string{"gateways.gateway.networking.k8s.io", "gatewayclasses.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"} {
		if !byName[want] {
			t.Errorf("no %s among %v", want, byName)
		}
	}
	// Callers own their copies.
	crds[0].SetName("changed")
	if gatewayapi.CRDs()[0].GetName() == "changed" {
		t.Error("CRDs() hands out shared objects")
	}
}

// TestEmbeddedCRDsAreTheGeneratedOnes runs the generator and compares: the
// embedded files are exactly the standard-channel CRDs of the gateway-api
// version the pinned istio.io/istio requires (fetched through the Go module
// proxy, as the test charts are).
func TestEmbeddedCRDsAreTheGeneratedOnes(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(filepath.Join("..", "..", "scripts", "gatewayapi-crds.sh"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/gatewayapi-crds.sh: %v\n%s", err, b)
	}
	want, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	have, _ := filepath.Glob(filepath.Join("crds", "*.yaml"))
	if len(want) != len(have) || len(want) == 0 {
		t.Fatalf("generator wrote %d CRDs, crds/ holds %d: run scripts/gatewayapi-crds.sh", len(want), len(have))
	}
	for _, w := range want {
		wb, _ := os.ReadFile(w)
		hb, err := os.ReadFile(filepath.Join("crds", filepath.Base(w)))
		if err != nil || !bytes.Equal(wb, hb) {
			t.Errorf("crds/%s differs from the generator's (%v): run scripts/gatewayapi-crds.sh", filepath.Base(w), err)
		}
	}
}

func TestLoadRefusesMixedOrForeignFiles(t *testing.T) {
	crd := func(name, version string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: " + name +
			"\n  annotations:\n    gateway.networking.k8s.io/bundle-version: " + version + "\n")}
	}
	tests := map[string]fstest.MapFS{
		"two releases mixed": {
			"crds/a.yaml": crd("gateways.gateway.networking.k8s.io", "v1.5.1"),
			"crds/b.yaml": crd("httproutes.gateway.networking.k8s.io", "v1.4.0"),
		},
		"a CRD of another group": {"crds/a.yaml": crd("foos.example.com", "v1.5.1")},
		"no CRDs at all":         {},
	}
	for name, fsys := range tests {
		t.Run(name, func(t *testing.T) {
			if err := gatewayapi.LoadForTest(fsys); err == nil {
				t.Error("load accepted it")
			}
		})
	}
	ok := fstest.MapFS{"crds/a.yaml": crd("gateways.gateway.networking.k8s.io", "v1.5.1")}
	if err := gatewayapi.LoadForTest(ok); err != nil {
		t.Errorf("load refused one good CRD: %v", err)
	}
}
