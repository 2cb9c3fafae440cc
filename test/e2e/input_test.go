package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
)

// TestBadInputFailsPreview: each bad input fails preview with a message that
// names the field and the cluster, and nothing reaches any cluster.
func TestBadInputFailsPreview(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	unreadable := filepath.Join(t.TempDir(), "missing-kubeconfig")
	good := func() meshSpec {
		return meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: t.TempDir()}
	}
	tests := map[string]struct {
		mutate func(*meshSpec)
		want   []string
	}{
		"duplicate cluster names": {
			mutate: func(s *meshSpec) { s.clusters[1].name = "cluster1" },
			want:   []string{"clusters[1] (cluster1).name", "duplicate cluster name"},
		},
		"a name that is not a DNS label": {
			mutate: func(s *meshSpec) { s.clusters[0].name = "Cluster_1" },
			want:   []string{"clusters[0] (Cluster_1).name", "DNS-1123"},
		},
		"an unreadable kubeconfig file": {
			mutate: func(s *meshSpec) { s.clusters[1].kubeconfigFile = unreadable },
			want:   []string{"clusters[1] (cluster2).kubeconfigFile", unreadable},
		},
		"a missing context": {
			mutate: func(s *meshSpec) { s.clusters[1].context = "nope" },
			want:   []string{"clusters[1] (cluster2).kubeconfigFile", `"nope"`},
		},
		"a malformed version": {
			mutate: func(s *meshSpec) { s.clusters[0].version = "1.x" },
			want:   []string{"clusters[0] (cluster1).istioVersion", "1.x"},
		},
		"a gateway address that is neither IP nor name": {
			mutate: func(s *meshSpec) { s.clusters[0].gatewayAddress = "not an address" },
			want:   []string{"clusters[0] (cluster1).gatewayAddress"},
		},
		"a bad chart repository URL": {
			mutate: func(s *meshSpec) { s.chartDirectory = ""; s.chartRepository = "ftp://charts" },
			want:   []string{"chartRepository", "ftp://charts"},
		},
		"a plain-http chart repository off loopback": {
			mutate: func(s *meshSpec) { s.chartDirectory = ""; s.chartRepository = "http://charts.example.com/istio" },
			want:   []string{"chartRepository", "http://charts.example.com/istio", "https"},
		},
		"a bad reader token mode": {
			mutate: func(s *meshSpec) { s.readerTokenMode = "forever" },
			want:   []string{"readerTokenMode", "forever"},
		},
		"a non-positive timeout": {
			mutate: func(s *meshSpec) { s.timeoutSeconds = -1 },
			want:   []string{"timeoutSeconds", "positive"},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			spec := good()
			tc.mutate(&spec)
			stack := pulumitest.InlineStack(t, "ristio-bad-input", meshProgram(spec))
			_, err := stack.Preview(context.Background())
			if err == nil {
				t.Fatal("preview succeeded, want an error")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
	t.Run("bring-your-own root with one half", func(t *testing.T) {
		program := func(ctx *pulumi.Context) error {
			var mesh meshResource
			return ctx.RegisterRemoteComponentResource("ristio:index:MultiClusterMesh", "mesh", pulumi.Map{
				"meshId":      pulumi.String("mesh1"),
				"clusters":    pulumi.Array{pulumi.Map{"name": pulumi.String("cluster1"), "kubeconfigFile": pulumi.String(w.Kubeconfig), "context": pulumi.String("cluster1")}},
				"certificate": pulumi.Map{"rootCertPem": pulumi.String("-----BEGIN CERTIFICATE-----")},
			}, &mesh)
		}
		stack := pulumitest.InlineStack(t, "ristio-bad-input", program)
		_, err := stack.Up(context.Background())
		if err == nil || !strings.Contains(err.Error(), "certificate.rootKeyPem") {
			t.Fatalf("up with half a root: %v", err)
		}
	})
	t.Run("two roots holding the same certificate", func(t *testing.T) {
		cert, key := broughtRoot(t, "pw")
		root := func(name string) pulumi.Map {
			return pulumi.Map{"name": pulumi.String(name), "rootCertPem": pulumi.String(cert), "rootKeyPem": pulumi.String(key), "password": pulumi.String("pw")}
		}
		spec := good()
		spec.certificate = pulumi.Map{"roots": pulumi.Array{root("blue"), root("green")}}
		stack := pulumitest.InlineStack(t, "ristio-bad-input", meshProgram(spec))
		_, err := stack.Up(context.Background())
		if err == nil || !containsAll(err.Error(), "certificate.roots[1] (green)", "same certificate as certificate.roots[0] (blue)") {
			t.Fatalf("up with one root listed twice: %v", err)
		}
	})
	for _, c := range w.Clusters {
		if _, err := c.Client.CoreV1().Namespaces().Get(context.Background(), istioNS, metav1.GetOptions{}); err == nil {
			t.Errorf("%s: bad input created %s", c.Name, istioNS)
		}
	}
	_ = os.Remove(unreadable)
}
