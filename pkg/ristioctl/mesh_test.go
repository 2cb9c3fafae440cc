package ristioctl

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func all(string) bool { return true }

func TestParseTheExample(t *testing.T) {
	file := filepath.Join("..", "..", "examples", "ristioctl", "mesh.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	mesh, err := Parse(file, data, func(p string) bool { asked = append(asked, p); return true })
	if err != nil {
		t.Fatal(err)
	}
	want := &Mesh{
		MeshID:      "usmesh",
		Certificate: Certificate{Name: "ristioctl-certs", ValidityHours: 87600, SanSuffix: "istio.io"},
		Clusters: []Cluster{
			{Name: "cluster1", KubeconfigFile: "kubeconfig.yaml", Context: "cluster1", Version: "1.30.5", InstallHelloWorld: true},
			{Name: "cluster2", KubeconfigFile: "kubeconfig.yaml", Context: "cluster2", Version: "1.30.5", InstallHelloWorld: true},
		},
	}
	if !reflect.DeepEqual(mesh, want) {
		t.Errorf("Parse() = %+v\nwant %+v", mesh, want)
	}
	// Kubeconfig paths are relative to the mesh file.
	if len(asked) != 2 || asked[0] != filepath.Join(filepath.Dir(file), "kubeconfig.yaml") {
		t.Errorf("checked paths %v", asked)
	}
}

const good = `apiVersion: ristioctl.k8smgmt.io/v3
kind: Certificate
metadata: {name: certs}
spec: {validityHours: 100, password: true, sanSuffix: mesh.example, meshID: m1}
---
apiVersion: ristioctl.k8smgmt.io/v3
kind: Cluster
metadata: {name: east}
spec: {kubeconfigFile: /k/east, context: east, meshID: m1, version: "1.29.0"}
---
apiVersion: ristioctl.k8smgmt.io/v3
kind: Cluster
metadata: {name: west}
spec: {kubeconfigFile: /k/west, meshID: m1, version: "1.30.5", installHelloWorld: true}
`

func TestParseProblems(t *testing.T) {
	tests := map[string]struct {
		edit   func(string) string
		exists func(string) bool
		want   []string // each "line:message part"
	}{
		"an unknown kind": {
			edit: func(s string) string {
				return strings.Replace(s, "kind: Cluster\nmetadata: {name: west}", "kind: Gateway\nmetadata: {name: west}", 1)
			},
			want: []string{`12:7: unknown kind "Gateway"`},
		},
		"an unknown field": {
			edit: func(s string) string { return strings.Replace(s, "context: east,", "contxt: east,", 1) },
			want: []string{`9:`, `Cluster "east" spec: unknown field "contxt"`},
		},
		"two certificates": {
			edit: func(s string) string { return s + "---\n" + strings.SplitN(s, "---\n", 2)[0] },
			want: []string{`16:1: a second Certificate "certs"`, "line 1"},
		},
		"clusters that disagree on meshID": {
			edit: func(s string) string {
				return strings.Replace(s, "meshID: m1, version: \"1.30.5\"", "meshID: m2, version: \"1.30.5\"", 1)
			},
			want: []string{`14:`, `cluster "west" has meshID "m2", but Certificate "certs" (line 4) has "m1"`},
		},
		"a duplicate cluster": {
			edit: func(s string) string { return strings.Replace(s, "{name: west}", "{name: east}", 1) },
			want: []string{`11:1: duplicate cluster "east" (also at line 6)`},
		},
		"a missing kubeconfig file": {
			exists: func(p string) bool { return p != "/k/west" },
			want:   []string{`14:`, `cluster "west": kubeconfigFile /k/west does not exist`},
		},
		"another apiVersion": {
			edit: func(s string) string {
				return strings.Replace(s, "ristioctl.k8smgmt.io/v3", "ristioctl.k8smgmt.io/v2", 1)
			},
			want: []string{`1:13: apiVersion must be ristioctl.k8smgmt.io/v3`},
		},
		"no certificate": {
			edit: func(s string) string { return strings.SplitN(s, "---\n", 2)[1] },
			want: []string{"no Certificate"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := good
			if tc.edit != nil {
				src = tc.edit(src)
			}
			exists := tc.exists
			if exists == nil {
				exists = all
			}
			mesh, err := Parse("mesh.yaml", []byte(src), exists)
			var problems Problems
			if !errors.As(err, &problems) || mesh != nil {
				t.Fatalf("Parse() = %v, %v; want problems and no mesh", mesh, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), "mesh.yaml:"+w) && !strings.Contains(err.Error(), w) {
					t.Errorf("problems do not mention %q:\n%v", w, err)
				}
			}
			if !strings.HasPrefix(err.Error(), "mesh.yaml:") {
				t.Errorf("problems do not start with the file: %v", err)
			}
		})
	}
}

var testPlugin = Plugin{MeshToken: "ristio:index:MultiClusterMesh", Version: "9.8.7", DownloadURL: "https://plugins.example/ristio"}

func TestProgram(t *testing.T) {
	mesh, err := Parse("mesh.yaml", []byte(good), all)
	if err != nil {
		t.Fatal(err)
	}
	got := Program(mesh, nil, testPlugin)
	for _, want := range []string{
		`config "certificatePassword" "string"`,
		`resource "mesh" "ristio:index:MultiClusterMesh" {`,
		`meshId = "m1"`,
		`keyType       = "ECDSA"`,
		`validityHours = 100`,
		`sanSuffix     = "mesh.example"`,
		`password      = secret(certificatePassword)`,
		// versions differ, so each cluster keeps its own
		"name           = \"east\"\n    kubeconfigFile = \"/k/east\"\n    context        = \"east\"\n    istioVersion   = \"1.29.0\"\n    istiodValues = {",
		"istioVersion      = \"1.30.5\"\n    installHelloWorld = true\n",
		"value = mesh.gatewayAddresses",
		"  options {\n    version           = \"9.8.7\"\n    pluginDownloadURL = \"https://plugins.example/ristio\"\n  }\n}\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("program lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\n  istioVersion") || strings.Count(got, "istioVersion") != 2 {
		t.Errorf("a mesh-wide istioVersion for differing versions:\n%s", got)
	}

	same := *mesh
	same.Certificate.Password = false
	same.Clusters = []Cluster{{Name: "a", Version: "1.30.5", InstallHelloWorld: true}, {Name: "b", Version: "1.30.5", InstallHelloWorld: true}}
	got = Program(&same, nil, testPlugin)
	if !strings.Contains(got, "\n  istioVersion      = \"1.30.5\"\n  installHelloWorld = true\n") || strings.Count(got, "istioVersion") != 1 {
		t.Errorf("shared version and sample are not mesh-wide:\n%s", got)
	}
	if strings.Contains(got, "certificatePassword") {
		t.Errorf("a password config without password: true:\n%s", got)
	}
	if strings.Contains(got, "adopt") || strings.Contains(got, "rootCertPem") {
		t.Errorf("a new mesh adopts:\n%s", got)
	}
	// ristioctl's mesh config, as it meant it.
	for _, want := range []string{"enablePrometheusMerge = false", `ISTIO_META_DNS_CAPTURE       = "true"`, `ISTIO_META_DNS_AUTO_ALLOCATE = "true"`} {
		if strings.Count(got, want) != 2 {
			t.Errorf("program does not give both clusters %q:\n%s", want, got)
		}
	}

	got = Program(&same, &Adoption{RootCertFile: "/certs/root-cert.pem", RootKeyFile: "/certs/root-key.pem"}, testPlugin)
	for _, want := range []string{
		`rootCertPem   = readFile("/certs/root-cert.pem")`,
		`rootKeyPem    = secret(readFile("/certs/root-key.pem"))`,
		"    }\n    adopt = true\n  }]",
		"ISTIO_META_DNS_CAPTURE       = \"\u201ctrue\u201d\"",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("adopting program lacks %q:\n%s", want, got)
		}
	}
}

// TestProgramKeepsStringsVerbatim: paths and names reach the program as
// literals, never as HCL templates, whatever they contain.
func TestProgramKeepsStringsVerbatim(t *testing.T) {
	odd := "/certs/a \"b\" ${x} %{y}\n\\c"
	mesh := &Mesh{MeshID: "m1", Clusters: []Cluster{{Name: "east", KubeconfigFile: odd}}}
	src := Program(mesh, &Adoption{RootCertFile: odd, RootKeyFile: "/k"}, testPlugin)
	file, diags := hclsyntax.ParseConfig([]byte(src), "main.pp", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("program does not parse: %v\n%s", diags, src)
	}
	var resource *hclsyntax.Block
	for _, b := range file.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "resource" {
			resource = b
		}
	}
	if resource == nil || len(resource.Labels) != 2 || resource.Labels[1] != testPlugin.MeshToken {
		t.Fatalf("no %s resource in:\n%s", testPlugin.MeshToken, src)
	}
	literal := func(e hclsyntax.Expression) string {
		t.Helper()
		v, diags := e.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("%s is not a literal: %v", src[e.Range().Start.Byte:e.Range().End.Byte], diags)
		}
		return v.AsString()
	}
	cert := resource.Body.Attributes["certificate"].Expr.(*hclsyntax.ObjectConsExpr)
	for _, item := range cert.Items {
		if literal(item.KeyExpr) != "rootCertPem" {
			continue
		}
		call := item.ValueExpr.(*hclsyntax.FunctionCallExpr)
		if got := literal(call.Args[0]); call.Name != "readFile" || got != odd {
			t.Errorf("rootCertPem = %s(%q), want readFile(%q)", call.Name, got, odd)
		}
	}
	cluster := resource.Body.Attributes["clusters"].Expr.(*hclsyntax.TupleConsExpr).Exprs[0].(*hclsyntax.ObjectConsExpr)
	for _, item := range cluster.Items {
		if literal(item.KeyExpr) == "kubeconfigFile" {
			if got := literal(item.ValueExpr); got != odd {
				t.Errorf("kubeconfigFile = %q, want %q", got, odd)
			}
		}
	}
}
