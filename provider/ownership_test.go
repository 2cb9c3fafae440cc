package provider

import (
	"context"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
)

func TestDecideOwnership(t *testing.T) {
	const mesh, other = "proj/prod/mesh", "proj/dev/mesh"
	tests := map[string]struct {
		found   marks
		mesh    string
		owner   string
		inState bool
		want    ownership
	}{
		"an object without ristio's label is not ristio's": {
			marks{managed: false}, mesh, "cacerts-1", true, notRistios},
		"an object marked by another mesh is that mesh's, even for a resource in state": {
			marks{managed: true, mesh: other, owner: "cacerts-9"}, mesh, "cacerts-1", true, otherMesh},
		"an object marked by another mesh is that mesh's for a resource used on its own": {
			marks{managed: true, mesh: other}, "", "cacerts-1", false, otherMesh},
		"an object marked by this mesh is ours, whoever wrote it last": {
			marks{managed: true, mesh: mesh, owner: "cacerts-9"}, mesh, "cacerts-1", false, ours},
		"an unmarked ristio object this resource manages (in state) is ours to mark": {
			marks{managed: true, owner: "cacerts-9"}, mesh, "cacerts-1", true, oursUnmarked},
		"an unmarked ristio object this resource wrote is ours to mark": {
			marks{managed: true, owner: "cacerts-1"}, mesh, "cacerts-1", false, oursUnmarked},
		"an unmarked ristio object another resource wrote, met on create, is another stack's": {
			marks{managed: true, owner: "cacerts-9"}, mesh, "cacerts-1", false, otherStack},
		"a resource used on its own owns unmarked ristio objects as before": {
			marks{managed: true, owner: "cacerts-9"}, "", "cacerts-1", false, ours},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			if got := decideOwnership(tc.found, tc.mesh, tc.owner, tc.inState); got != tc.want {
				t.Fatalf("decideOwnership(%+v, %q, %q, %v) = %v, want %v", tc.found, tc.mesh, tc.owner, tc.inState, got, tc.want)
			}
		})
	}
}

func TestDeletable(t *testing.T) {
	const mesh, other = "proj/prod/mesh", "proj/dev/mesh"
	tests := map[string]struct {
		found       marks
		mesh, owner string
		want        bool
	}{
		"another mesh's object is never deleted":             {marks{managed: true, mesh: other, owner: "cp-1"}, mesh, "cp-1", false},
		"another mesh's object is kept by an unmarked state": {marks{managed: true, mesh: other, owner: "cp-1"}, "", "cp-1", false},
		"an object not ristio's is never deleted":            {marks{}, mesh, "", false},
		"this mesh's object, written by this resource":       {marks{managed: true, mesh: mesh, owner: "cp-1"}, mesh, "cp-1", true},
		"this mesh's object, written last by another":        {marks{managed: true, mesh: mesh, owner: "cp-2"}, mesh, "cp-1", false},
		"this mesh's shared object, any writer of the mesh":  {marks{managed: true, mesh: mesh, owner: "cp-2"}, mesh, "", true},
		"an unmarked object written by this resource":        {marks{managed: true, owner: "cp-1"}, mesh, "cp-1", true},
		"an unmarked object written by another resource":     {marks{managed: true, owner: "cp-2"}, mesh, "cp-1", false},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			if got := deletable(tc.found, tc.mesh, tc.owner); got != tc.want {
				t.Fatalf("deletable(%+v, %q, %q) = %v, want %v", tc.found, tc.mesh, tc.owner, got, tc.want)
			}
		})
	}
}

func TestRefusalNamesTheOtherMesh(t *testing.T) {
	ctx := context.Background()
	err := refusal(ctx, "Secret istio-system/cacerts", otherMesh, marks{managed: true, mesh: "a/prod/mesh"}, false)
	if err == nil {
		t.Fatal("another mesh's object was not refused")
	}
	for _, want := range []string{"Secret istio-system/cacerts", "a/prod/mesh", "adopt: true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %q", err, want)
		}
	}
	if err := refusal(ctx, "Secret istio-system/cacerts", otherMesh, marks{managed: true, mesh: "a/prod/mesh"}, true); err != nil {
		t.Errorf("adopt did not take another mesh's object over: %v", err)
	}
}

func TestMarkOnly(t *testing.T) {
	in := CACertsArgs{}
	tests := map[string]struct {
		diff map[string]p.PropertyDiff
		want bool
	}{
		"the mesh alone":             {map[string]p.PropertyDiff{"meshIdentity": {Kind: p.Update}}, true},
		"the mesh and a quiet input": {map[string]p.PropertyDiff{"meshIdentity": {Kind: p.Update}, "timeoutSeconds": {Kind: p.Update}}, true},
		"the mesh and data":          {map[string]p.PropertyDiff{"meshIdentity": {Kind: p.Update}, "caCertPem": {Kind: p.Update}}, false},
		"a quiet input alone":        {map[string]p.PropertyDiff{"timeoutSeconds": {Kind: p.Update}}, false},
		"drift":                      {map[string]p.PropertyDiff{"meshIdentity": {Kind: p.Update}, "checksum": {Kind: p.Update}}, false},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			if got := markOnly(tc.diff, in); got != tc.want {
				t.Fatalf("markOnly(%v) = %v, want %v", tc.diff, got, tc.want)
			}
		})
	}
}
