package naming

import (
	"strings"
	"testing"
)

func TestNewMeshIdentity(t *testing.T) {
	tests := map[string]struct {
		project, stack, name string
		want                 MeshIdentity
		wantErr              bool
	}{
		"project, stack and name joined by slashes": {"meshes", "prod", "mesh", "meshes/prod/mesh", false},
		"a name may hold a slash":                   {"p", "s", "a/b", "p/s/a/b", false},
		"an empty project is refused":               {"", "s", "mesh", "", true},
		"an empty stack is refused":                 {"p", "", "mesh", "", true},
		"an empty name is refused":                  {"p", "s", "", "", true},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			got, err := NewMeshIdentity(tc.project, tc.stack, tc.name)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("NewMeshIdentity(%q, %q, %q) = %q, %v", tc.project, tc.stack, tc.name, got, err)
			}
		})
	}
}

func TestMeshIdentityLabelValue(t *testing.T) {
	long := MeshIdentity("project/stack/" + strings.Repeat("n", 100))
	tests := map[string]struct {
		id     MeshIdentity
		prefix string
	}{
		"readable start with slashes as dots": {"meshes/prod/mesh", "meshes.prod.mesh-"},
		"a long identity is cut":              {long, "project.stack.nnn"},
		"other characters become dots":        {"p/s/a b", "p.s.a.b-"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			v := tc.id.LabelValue()
			if len(v) > 63 || !labelValue.MatchString(v) || !strings.HasPrefix(v, tc.prefix) {
				t.Fatalf("LabelValue(%q) = %q: not a label value starting %q", tc.id, v, tc.prefix)
			}
		})
	}
	if a, b := MeshIdentity("a.b/c/m").LabelValue(), MeshIdentity("a/b.c/m").LabelValue(); a == b {
		t.Fatalf("two identities with the same readable form share label value %q", a)
	}
	if MeshIdentity("").LabelValue() != "" {
		t.Fatal("the empty identity has a label value")
	}
}
