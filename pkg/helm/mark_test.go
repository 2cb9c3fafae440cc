package helm

import (
	"context"
	"testing"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

func TestMarkRelabelsTheNewestRevisionWithoutANewOne(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.Owner = "cp-1"
	if _, err := f.Apply(ctx, "demo", demoChart("1.0.0"), map[string]any{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	before := f.stored(t, "demo")[0]
	manifest := before.Manifest

	f.Mesh = "p.s.mesh-0123456789"
	r, err := f.Mark(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if r.Mesh != f.Mesh || r.Owner != "cp-1" || r.Revision != 1 || r.Status != "deployed" {
		t.Errorf("Mark() = %+v", r)
	}
	h := f.stored(t, "demo")
	if len(h) != 1 {
		t.Fatalf("Mark made %d revisions, want the one there was", len(h))
	}
	if h[0].Labels[naming.MeshLabel] != f.Mesh || h[0].Manifest != manifest || h[0].Config["a"] != "1" {
		t.Errorf("stored revision after Mark: labels %v, values %v", h[0].Labels, h[0].Config)
	}
	if r, err := f.Mark(ctx, "gone"); err != nil || r != nil {
		t.Errorf("Mark of a release that does not exist = %v, %v; want nil, nil", r, err)
	}
}

func TestApplyRecordsTheMesh(t *testing.T) {
	f := newFixture(t)
	f.Mesh = "p.s.mesh-0123456789"
	r, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mesh != f.Mesh {
		t.Errorf("Apply() recorded mesh %q, want %q", r.Mesh, f.Mesh)
	}
}
