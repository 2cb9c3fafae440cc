package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestMeshFromHelmRepository installs from a Helm repository served on
// loopback, as users install from Istio's repo, with long-lived reader tokens.
func TestMeshFromHelmRepository(t *testing.T) {
	w := world(t, 2)
	repo := testcharts.NewRepo(t, "1.28.1", "1.28.2")
	cache := t.TempDir()
	t.Setenv("RISTIO_CHART_CACHE", cache)
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 1), chartRepository: repo.URL, readerTokenMode: "serviceAccountSecret"}
	stack := pulumitest.InlineStack(t, "ristio-repo", meshProgram(spec))
	t.Cleanup(func() { _, _ = stack.Destroy(context.Background()) })

	start := time.Now()
	res := pulumitest.Up(t, stack)
	t.Logf("up with 1 cluster from a Helm repo: %s", time.Since(start).Round(time.Millisecond))
	assertMesh(t, w, spec.clusters, res.Outputs)
	fetched := repo.Requests()
	if fetched == 0 {
		t.Fatalf("the Helm repository was never asked for a chart")
	}

	lone := istiodPods(t, w.Cluster("cluster1"))

	spec.clusters = clustersOf(w, 2)
	setProgram(t, &stack, spec)
	res = pulumitest.Up(t, stack)
	assertMesh(t, w, spec.clusters, res.Outputs)
	// Secrets written for a new peer rewrite nothing: no istiod restarts,
	// although this world's istiod counts as affected by istio/istio#61043.
	if got := istiodPods(t, w.Cluster("cluster1")); !slices.Equal(got, lone) {
		t.Errorf("cluster1's istiod restarted when cluster2 joined: %v, was %v", got, lone)
	}
	// The second cluster reuses the cached charts: one index and chart per
	// chart name were fetched for 1.28.1, once.
	if got := repo.Requests(); got != fetched {
		t.Errorf("repository requests grew from %d to %d; charts should come from the cache", fetched, got)
	}

	// A cached archive that no longer matches the SHA-256 recorded when it
	// was downloaded is fetched again, never installed: cluster2 moves to
	// 1.28.2, the cached istiod 1.28.1 archive is overwritten, and cluster2
	// moves back to 1.28.1, which upgrades its istiod release.
	spec.clusters[1].version = "1.28.2"
	setProgram(t, &stack, spec)
	pulumitest.Up(t, stack)
	tampered := tamperCachedChart(t, cache, "istiod", "1.28.1")
	before := repo.Requests()
	spec.clusters[1].version = "1.28.1"
	setProgram(t, &stack, spec)
	res = pulumitest.Up(t, stack)
	assertMesh(t, w, spec.clusters, res.Outputs)
	if got := repo.Requests(); got <= before {
		t.Errorf("repository requests stayed at %d after %d cached archives were tampered with; want them fetched again", got, len(tampered))
	}
	for _, f := range tampered {
		if data, err := os.ReadFile(f); err != nil || string(data) == tamperedChart {
			t.Errorf("%s is still the tampered archive (%v)", f, err)
		}
	}

	spec.clusters[0].version = "9.9.9"
	setProgram(t, &stack, spec)
	_, err := stack.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "9.9.9") || !strings.Contains(err.Error(), repo.URL) {
		t.Fatalf("missing chart version: %v, want an error naming the version and the repository", err)
	}
}

// TestUnreachableClusterDoesNotBlockOthers: with one cluster down, the others
// complete, the error names the cluster, and a rerun converges once it is back.
func TestUnreachableClusterDoesNotBlockOthers(t *testing.T) {
	w := world(t, 2)
	cfg, err := clientcmd.LoadFromFile(w.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	server := cfg.Clusters["cluster2"].Server
	cfg.Clusters["cluster2"].Server = "https://127.0.0.1:1"
	broken := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, broken); err != nil {
		t.Fatal(err)
	}
	spec := meshSpec{kubeconfig: broken, clusters: clustersOf(w, 2), chartDirectory: testcharts.Directory(t), timeoutSeconds: 120}
	stack := pulumitest.InlineStack(t, "ristio-unreachable", meshProgram(spec))
	t.Cleanup(func() { _, _ = stack.Destroy(context.Background()) })

	_, err = stack.Up(context.Background(), optup.ContinueOnError())
	if err == nil || !strings.Contains(err.Error(), "cluster cluster2") {
		t.Fatalf("up with cluster2 down: %v, want an error naming cluster2", err)
	}
	if got := releaseStatus(t, w.Cluster("cluster1"), "istiod"); got != "deployed" {
		t.Errorf("cluster1 did not complete while cluster2 was down: istiod %q", got)
	}

	cfg.Clusters["cluster2"].Server = server
	if err := clientcmd.WriteToFile(*cfg, broken); err != nil {
		t.Fatal(err)
	}
	res := pulumitest.Up(t, stack)
	assertMesh(t, w, spec.clusters, res.Outputs)
	if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
		t.Fatalf("preview after recovery: %v", got)
	}
	_ = os.Remove(broken)
}

// tamperedChart is what tamperCachedCharts writes over a cached archive.
const tamperedChart = "not the chart that was downloaded"

// tamperCachedChart overwrites the cached archives of the chart at version
// (one per repository) and returns their paths.
func tamperCachedChart(t *testing.T, cache, chart, version string) []string {
	t.Helper()
	var tampered []string
	err := filepath.WalkDir(cache, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) != chart+"-"+version+".tgz" {
			return err
		}
		tampered = append(tampered, path)
		return os.WriteFile(path, []byte(tamperedChart), 0o600)
	})
	if err != nil || len(tampered) == 0 {
		t.Fatalf("tampering with the cached %s-%s chart in %s: %v (%d archives)", chart, version, cache, err, len(tampered))
	}
	return tampered
}
