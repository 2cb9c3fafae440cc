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
			change: func(a *RemoteSecretArgs) { a.RemoteApiServer = file("https://x") },
			want:   map[string]p.DiffKind{"remoteApiServer": p.Update},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			next := base
			tc.change(&next)
			got := diffInputs(base, next, replaceOn("source.name", "target.name"))
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
