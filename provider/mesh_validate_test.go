package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const validateKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u1
  user: {token: "not-a-real-token"}
contexts:
- name: cluster1
  context: {cluster: c1, user: u1}
- name: cluster2
  context: {cluster: c1, user: u1}
current-context: cluster1
`

func TestValidateMesh(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(file, []byte(validateKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	i := func(v int) *int { return &v }
	b := func(v bool) *bool { return &v }
	good := func() MultiClusterMeshArgs {
		return MultiClusterMeshArgs{MeshID: "usmesh", Clusters: []MeshCluster{
			{Name: "cluster1", KubeconfigFile: s(file), Context: s("cluster1")},
			{Name: "cluster2", KubeconfigFile: s(file), Context: s("cluster2")},
		}}
	}
	tests := map[string]struct {
		change func(*MultiClusterMeshArgs)
		want   []string
	}{
		"a mesh with default chart source and versions is valid": {change: func(*MultiClusterMeshArgs) {}},
		"an empty mesh ID": {change: func(a *MultiClusterMeshArgs) { a.MeshID = "" }, want: []string{"meshId: must not be empty"}},
		"no clusters":      {change: func(a *MultiClusterMeshArgs) { a.Clusters = nil }, want: []string{"clusters: at least one"}},
		"a duplicate network": {
			change: func(a *MultiClusterMeshArgs) { a.Clusters[1].Network = s("network-cluster1") },
			want:   []string{"clusters[1] (cluster2).network", `also used by cluster "cluster1"`},
		},
		"a missing context": {
			change: func(a *MultiClusterMeshArgs) { a.Clusters[0].Context = s("gone") },
			want:   []string{"clusters[0] (cluster1).kubeconfigFile", "gone"},
		},
		"remote secrets per cluster are valid": {change: func(a *MultiClusterMeshArgs) { a.RemoteSecrets = s("perCluster") }},
		"an ambient mesh is valid":             {change: func(a *MultiClusterMeshArgs) { a.Dataplane = s("ambient") }},
		"an unknown data plane": {
			change: func(a *MultiClusterMeshArgs) { a.Dataplane = s("envoy") },
			want:   []string{`dataplane: must be sidecar or ambient, got "envoy"`},
		},
		"ambient with adopt, a fixed gateway address or gateway values": {
			change: func(a *MultiClusterMeshArgs) {
				a.Dataplane = s("ambient")
				a.Clusters[0].Adopt = b(true)
				a.Clusters[1].GatewayAddress = pulumi.String("10.0.0.2")
				a.Clusters[1].GatewayValues = map[string]any{"replicaCount": 2}
			},
			want: []string{"clusters[0] (cluster1).adopt: adopt takes over a sidecar install", "clusters[1] (cluster2).gatewayAddress", "clusters[1] (cluster2).gatewayValues"},
		},
		"ambient with canary revisions": {
			change: func(a *MultiClusterMeshArgs) {
				a.Dataplane = s("ambient")
				a.Revisions = []MeshRevision{{Name: "a", IstioVersion: "1.30.5"}, {Name: "b", IstioVersion: "1.31.0"}}
				a.DefaultRevision = s("b")
			},
		},
		"ambient with verify": {
			change: func(a *MultiClusterMeshArgs) {
				a.Dataplane = s("ambient")
				a.Verify = b(true)
			},
		},
		"ambient istiodValues turning multi-network off": {
			change: func(a *MultiClusterMeshArgs) {
				a.Dataplane = s("ambient")
				a.Clusters[0].IstiodValues = map[string]any{"env": map[string]any{"AMBIENT_ENABLE_MULTI_NETWORK": "false"}}
			},
			want: []string{"clusters[0] (cluster1).istiodValues", "AMBIENT_ENABLE_MULTI_NETWORK"},
		},
		"istiodValues turning multi-root trust off": {
			change: func(a *MultiClusterMeshArgs) {
				a.Clusters[1].IstiodValues = map[string]any{"pilot": map[string]any{"env": map[string]any{"ISTIO_MULTIROOT_MESH": "false"}}}
			},
			want: []string{"clusters[1] (cluster2).istiodValues", `pilot.env.ISTIO_MULTIROOT_MESH is "false"`, "root rotation"},
		},
		"an unknown restart policy": {
			change: func(a *MultiClusterMeshArgs) { a.RestartIstiod = s("sometimes") },
			want:   []string{"restartIstiodAfterSecretRotation", "auto, always or never"},
		},
		"an unknown remote-secret layout": {
			change: func(a *MultiClusterMeshArgs) { a.RemoteSecrets = s("perMesh") },
			want:   []string{"remoteSecrets", "perPair or perCluster", `"perMesh"`},
		},
		"a remote API server over http": {
			change: func(a *MultiClusterMeshArgs) { a.Clusters[0].RemoteAPIServer = pulumi.String("http://10.0.0.1") },
			want:   []string{"clusters[0] (cluster1).remoteApiServer", "https://"},
		},
		"a non-positive validity": {
			change: func(a *MultiClusterMeshArgs) { a.Certificate = &MeshCertificate{ValidityHours: i(0)} },
			want:   []string{"certificate.validityHours", "positive"},
		},
		"an odd RSA size": {
			change: func(a *MultiClusterMeshArgs) { a.Certificate = &MeshCertificate{RSABits: i(1024)} },
			want:   []string{"certificate.rsaBits", "1024"},
		},
		"two roots, the first generated": {
			change: func(a *MultiClusterMeshArgs) {
				a.Certificate = &MeshCertificate{Roots: []MeshRoot{{Name: "blue", KeyType: s("ECDSA")}, {Name: "green", RootCertPEM: pulumi.String("pem")}}}
			},
		},
		"roots and the shorthand together": {
			change: func(a *MultiClusterMeshArgs) {
				a.Certificate = &MeshCertificate{KeyType: s("ECDSA"), Roots: []MeshRoot{{Name: "blue"}}}
			},
			want: []string{"certificate.roots", "not both", "certificate.keyType"},
		},
		"an empty roots list": {
			change: func(a *MultiClusterMeshArgs) { a.Certificate = &MeshCertificate{Roots: []MeshRoot{}} },
			want:   []string{"certificate.roots: must list at least one root"},
		},
		"a duplicate root name": {
			change: func(a *MultiClusterMeshArgs) {
				a.Certificate = &MeshCertificate{Roots: []MeshRoot{{Name: "blue"}, {Name: "blue"}}}
			},
			want: []string{"certificate.roots[1] (blue).name", "duplicate root name"},
		},
		"a root name that is not a DNS label": {
			change: func(a *MultiClusterMeshArgs) { a.Certificate = &MeshCertificate{Roots: []MeshRoot{{Name: "Blue_1"}}} },
			want:   []string{"certificate.roots[0] (Blue_1).name", "DNS-1123 label"},
		},
		"a signing root brought without its key": {
			change: func(a *MultiClusterMeshArgs) {
				a.Certificate = &MeshCertificate{Roots: []MeshRoot{{Name: "blue", RootCertPEM: pulumi.String("pem")}}}
			},
			want: []string{"certificate.roots[0] (blue).rootKeyPem", "needs its key"},
		},
		"a bad key type in a later root": {
			change: func(a *MultiClusterMeshArgs) {
				a.Certificate = &MeshCertificate{Roots: []MeshRoot{{Name: "blue"}, {Name: "green", KeyType: s("DSA")}}}
			},
			want: []string{"certificate.roots[1] (green).keyType", "RSA or ECDSA"},
		},
		"a negative renewal window": {
			change: func(a *MultiClusterMeshArgs) { a.Certificate = &MeshCertificate{RenewBeforeHours: i(-1)} },
			want:   []string{"certificate.renewBeforeHours", "negative"},
		},
		"a network that is not a label value": {
			change: func(a *MultiClusterMeshArgs) { a.Clusters[0].Network = s("net work") },
			want:   []string{"clusters[0] (cluster1).network", "label value"},
		},
		"a revision that is not a DNS label": {
			change: func(a *MultiClusterMeshArgs) { a.Revision = s("Canary_1") },
			want:   []string{"revision", "DNS-1123"},
		},
		"revisions with a default revision": {
			change: func(a *MultiClusterMeshArgs) {
				a.Revisions = []MeshRevision{{Name: "default", IstioVersion: "1.30.5"}, {Name: "1-31-0", IstioVersion: "1.31.0"}}
				a.DefaultRevision = s("1-31-0")
			},
		},
		"adopt without the live mesh's root": {
			change: func(a *MultiClusterMeshArgs) { a.Clusters[1].Adopt = b(true) },
			want:   []string{"clusters[1] (cluster2).adopt: needs the root the live mesh trusts", "certificate.rootCertPem and rootKeyPem", "break mTLS"},
		},
		"adopt with a brought root but no key": {
			change: func(a *MultiClusterMeshArgs) {
				a.Clusters[0].Adopt = b(true)
				a.Certificate = &MeshCertificate{RootCertPEM: pulumi.String("pem")}
			},
			want: []string{"clusters[0] (cluster1).adopt: needs the root"},
		},
		"adopt with a revision": {
			change: func(a *MultiClusterMeshArgs) {
				a.Clusters[0].Adopt = b(true)
				a.Certificate = &MeshCertificate{RootCertPEM: pulumi.String("pem"), RootKeyPEM: pulumi.String("key")}
				a.Revision = s("canary")
			},
			want: []string{"clusters[0] (cluster1).adopt: not with revision or revisions"},
		},
		"adopt with the live mesh's root": {
			change: func(a *MultiClusterMeshArgs) {
				a.Clusters[0].Adopt = b(true)
				a.Certificate = &MeshCertificate{Roots: []MeshRoot{{Name: "default", RootCertPEM: pulumi.String("pem"), RootKeyPEM: pulumi.String("key")}}}
			},
		},
		"revisions without defaultRevision": {
			change: func(a *MultiClusterMeshArgs) { a.Revisions = []MeshRevision{{Name: "blue", IstioVersion: "1.30.5"}} },
			want:   []string{"defaultRevision: required with revisions"},
		},
		"defaultRevision naming no entry, as when its entry is removed": {
			change: func(a *MultiClusterMeshArgs) {
				a.Revisions = []MeshRevision{{Name: "blue", IstioVersion: "1.30.5"}}
				a.DefaultRevision = s("green")
			},
			want: []string{"defaultRevision", `"green" is not in revisions`, "move defaultRevision"},
		},
		"revisions with revision, istioVersion and a cluster's istioVersion": {
			change: func(a *MultiClusterMeshArgs) {
				a.Revisions = []MeshRevision{{Name: "blue", IstioVersion: "1.30.5"}}
				a.DefaultRevision = s("blue")
				a.Revision, a.IstioVersion, a.Clusters[1].IstioVersion = s("blue"), s("1.30.5"), s("1.30.5")
			},
			want: []string{"revision: not with revisions", "istioVersion: not with revisions", "clusters[1] (cluster2).istioVersion: not with revisions"},
		},
		"duplicate and malformed revisions": {
			change: func(a *MultiClusterMeshArgs) {
				a.Revisions = []MeshRevision{{Name: "blue", IstioVersion: "1.30.5"}, {Name: "blue", IstioVersion: "v1.31"}, {Name: "Green_1", IstioVersion: "1.30.5"}}
				a.DefaultRevision = s("blue")
			},
			want: []string{"revisions[1].name: duplicate revision \"blue\"", "revisions[1].istioVersion", "revisions[2].name", "DNS-1123"},
		},
		"defaultRevision without revisions": {
			change: func(a *MultiClusterMeshArgs) { a.DefaultRevision = s("blue") },
			want:   []string{"defaultRevision: only with revisions"},
		},
		"a chart repository and a chart directory": {
			change: func(a *MultiClusterMeshArgs) {
				a.ChartRepository, a.ChartDirectory = s("https://charts.example"), s("/charts")
			},
			want: []string{"chartRepository: set chartRepository or chartDirectory, not both"},
		},
		"a malformed chart repository next to a directory": {
			change: func(a *MultiClusterMeshArgs) { a.ChartRepository, a.ChartDirectory = s("ftp://charts"), s("/charts") },
			want:   []string{"not both", "must be an http://, https:// or oci:// URL"},
		},
		"every problem is reported at once": {
			change: func(a *MultiClusterMeshArgs) { a.MeshID = ""; a.Clusters[1].Name = "cluster1" },
			want:   []string{"meshId", "clusters[1] (cluster1).name: duplicate"},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			args := good()
			tc.change(&args)
			err := validateMesh(args, time.Now())
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "not-a-real-token") {
				t.Errorf("error leaks the kubeconfig token")
			}
		})
	}
}
