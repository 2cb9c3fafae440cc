package provider

import (
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
)

func TestDiffInputs(t *testing.T) {
	file := func(s string) *string { return &s }
	base := RemoteSecretArgs{Source: ClusterConnection{Name: "a", KubeconfigFile: file("/k")}, Target: ClusterConnection{Name: "b"}}
	tests := map[string]struct {
		change func(*RemoteSecretArgs)
		want   map[string]p.DiffKind
	}{
		"equal inputs give no diff": {change: func(*RemoteSecretArgs) {}, want: map[string]p.DiffKind{}},
		"a renamed source replaces": {
			change: func(a *RemoteSecretArgs) { a.Source.Name = "c" },
			want:   map[string]p.DiffKind{"source.name": p.UpdateReplace},
		},
		"a new kubeconfig file updates in place": {
			change: func(a *RemoteSecretArgs) { a.Source.KubeconfigFile = file("/other") },
			want:   map[string]p.DiffKind{"source.kubeconfigFile": p.Update},
		},
		"an omitted optional equals an empty one": {
			change: func(a *RemoteSecretArgs) { a.Target.Context = file("") },
			want:   map[string]p.DiffKind{},
		},
		"a top-level option updates in place": {
			change: func(a *RemoteSecretArgs) { a.RemoteAPIServer = file("https://x") },
			want:   map[string]p.DiffKind{"remoteApiServer": p.Update},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			next := base
			tc.change(&next)
			got := diffInputs(base, next)
			if len(got) != len(tc.want) {
				t.Fatalf("diff %v, want %v", got, tc.want)
			}
			for k, kind := range tc.want {
				if got[k].Kind != kind {
					t.Errorf("%s: %v, want %v", k, got[k].Kind, kind)
				}
			}
		})
	}
}

func TestQuietOnly(t *testing.T) {
	plane, secret := IstioControlPlaneArgs{}, RemoteSecretArgs{}
	tests := map[string]struct {
		inputs any
		paths  []string
		want   bool
	}{
		"no change is not a quiet change":             {inputs: plane, paths: nil, want: false},
		"a new kubeconfig file is quiet":              {inputs: plane, paths: []string{"cluster.kubeconfigFile"}, want: true},
		"new contents and a longer timeout are quiet": {inputs: secret, paths: []string{"source.kubeconfig", "timeoutSeconds"}, want: true},
		"a version bump is not quiet":                 {inputs: plane, paths: []string{"cluster.context", "istioVersion"}, want: false},
		"drift found by refresh is not quiet":         {inputs: plane, paths: []string{"checksum"}, want: false},
		"a renamed cluster is not quiet":              {inputs: plane, paths: []string{"cluster.name"}, want: false},
		"a gateway that no longer waits is quiet":     {inputs: EastWestGatewayArgs{}, paths: []string{"waitForAddress"}, want: true},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			diff := map[string]p.PropertyDiff{}
			for _, path := range tc.paths {
				diff[path] = p.PropertyDiff{Kind: p.Update}
			}
			if got := quietOnly(diff, tc.inputs); got != tc.want {
				t.Fatalf("quietOnly(%v) = %v, want %v", tc.paths, got, tc.want)
			}
		})
	}
}

func TestDiffIgnoresMeshClusters(t *testing.T) {
	base := CACertsArgs{Cluster: ClusterConnection{Name: "cluster1"}, RootCertPEM: "root", MeshClusters: []ClusterConnection{{Name: "cluster1"}}}
	next := base
	next.MeshClusters = []ClusterConnection{{Name: "cluster1"}, {Name: "cluster2"}}
	if got := diffInputs(base, next); len(got) != 0 {
		t.Errorf("a cluster joining meshClusters diffs as %v, want nothing", got)
	}
	next.RootCertPEM = "other"
	if got := diffInputs(base, next); len(got) != 1 || got["rootCertPem"].Kind != p.Update {
		t.Errorf("a new root with meshClusters changed diffs as %v, want rootCertPem alone", got)
	}
}
