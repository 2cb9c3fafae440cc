package provider

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
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

// TestReplaceOnChangesIsInTheSchema: the inputs whose change replaces a
// resource are exactly those schema.json (so the SDKs and their docs) marks
// replaceOnChanges, and the diff engine replaces on each of them.
func TestReplaceOnChangesIsInTheSchema(t *testing.T) {
	want := map[string][]string{
		"resources/ristio:index:ClusterCA":         {"cluster", "keyType", "rootCertPem", "rsaBits", "sanSuffix", "validityHours"},
		"resources/ristio:index:IstioControlPlane": {"revision"},
		"resources/ristio:index:HelloWorld":        {"namespace", "sampleVersion"},
		"types/ristio:index:ClusterConnection":     {"name"},
	}
	b, err := os.ReadFile(filepath.Join("..", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	type props map[string]struct {
		ReplaceOnChanges bool `json:"replaceOnChanges"`
	}
	var spec struct {
		Resources map[string]struct {
			InputProperties props `json:"inputProperties"`
		} `json:"resources"`
		Types map[string]struct {
			Properties props `json:"properties"`
		} `json:"types"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	mark := func(where string, ps props) {
		for name, prop := range ps {
			if prop.ReplaceOnChanges {
				got[where] = append(got[where], name)
			}
		}
		slices.Sort(got[where])
	}
	for token, r := range spec.Resources {
		mark("resources/"+token, r.InputProperties)
	}
	for token, typ := range spec.Types {
		mark("types/"+token, typ.Properties)
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("schema.json marks replaceOnChanges on %v, want %v", got, want)
	}

	// The diff engine reads the same tags: a change to each replaces.
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	replaced := map[string]struct{ old, new any }{
		"cluster":       {ClusterCAArgs{Cluster: "a"}, ClusterCAArgs{Cluster: "b"}},
		"keyType":       {ClusterCAArgs{}, ClusterCAArgs{KeyType: s("ECDSA")}},
		"rootCertPem":   {ClusterCAArgs{RootCertPEM: "a"}, ClusterCAArgs{RootCertPEM: "b"}},
		"rsaBits":       {ClusterCAArgs{}, ClusterCAArgs{RSABits: n(2048)}},
		"sanSuffix":     {ClusterCAArgs{}, ClusterCAArgs{SanSuffix: s("x")}},
		"validityHours": {ClusterCAArgs{}, ClusterCAArgs{ValidityHours: n(1)}},
		"revision":      {IstioControlPlaneArgs{}, IstioControlPlaneArgs{Revision: s("canary")}},
		"namespace":     {HelloWorldArgs{}, HelloWorldArgs{Namespace: s("other")}},
		"sampleVersion": {HelloWorldArgs{SampleVersion: "v1"}, HelloWorldArgs{SampleVersion: "v2"}},
		"cluster.name":  {IstioControlPlaneArgs{Cluster: ClusterConnection{Name: "a"}}, IstioControlPlaneArgs{Cluster: ClusterConnection{Name: "b"}}},
	}
	for path, change := range replaced {
		if d := diffInputs(change.old, change.new); d[path].Kind != p.UpdateReplace {
			t.Errorf("a change to %s (%T): %v, want a replace", path, change.old, d)
		}
	}
}
