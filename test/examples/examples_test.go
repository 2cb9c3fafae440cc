// Package examples runs every example under examples/ end to end, with the
// real Pulumi CLI and the ristio plugin, against two local clusters:
//
//   - yaml: `pulumi up` on a copy of examples/yaml, through pulumi-language-yaml;
//   - ts, python, go: the example's own program as an inline Automation API
//     program of its own language (drivers/), so no language host is needed.
//
// Each example goes through up, an empty preview, a preview of cluster2's
// Istio version bump and destroy, and the test checks the clusters after each.
// The YAML and TypeScript examples then do it again on the same clusters with
// `dataplane: ambient`.
package examples

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/provider"
)

// bumpedVersion is cluster2's Istio version after the bump: the next patch
// of the provider's default, which the examples start every cluster at.
var bumpedVersion = semver.MustParse(provider.DefaultIstioVersion).IncPatch().String()

// TestYAMLExampleDefaults keeps the YAML example's version defaults (YAML
// cannot leave an input out) equal to the provider's default, and the plugin
// it asks for equal to this release.
func TestYAMLExampleDefaults(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(pulumitest.RepoRoot(), "examples", "yaml", "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		Config map[string]struct {
			Default any `json:"default"`
		} `json:"config"`
		Resources map[string]struct {
			Type    string `json:"type"`
			Options struct {
				Version           string `json:"version"`
				PluginDownloadURL string `json:"pluginDownloadURL"`
			} `json:"options"`
		} `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &project); err != nil {
		t.Fatalf("examples/yaml/Pulumi.yaml: %v", err)
	}
	for _, key := range []string{"istioVersion1", "istioVersion2"} {
		if got := project.Config[key].Default; got != provider.DefaultIstioVersion {
			t.Errorf("examples/yaml config %s defaults to %v, want the provider's default %s", key, got, provider.DefaultIstioVersion)
		}
	}
	for name, r := range project.Resources {
		if !strings.HasPrefix(r.Type, provider.Name+":") {
			continue
		}
		if o := r.Options; o.Version != provider.Version || o.PluginDownloadURL != provider.PluginDownloadURL {
			t.Errorf("examples/yaml resource %s asks for plugin %q from %q, want %s from %s", name, o.Version, o.PluginDownloadURL, provider.Version, provider.PluginDownloadURL)
		}
	}
}

// TestYAMLExample runs examples/yaml as a user on a fresh machine does: an
// empty PULUMI_HOME, no ristio plugin on PATH, and the engine downloading the
// plugin the program's options name (from a loopback server standing in for
// the GitHub release).
func TestYAMLExample(t *testing.T) {
	var release *pulumitest.ReleaseServer
	exercise(t, func(t *testing.T, _ map[string]string) runner {
		release = pulumitest.ServeRelease(t)
		return autoRunner{stack: pulumitest.LocalStackIn(t, copyExample(t, "yaml"), release.Env)}
	}, bothDataplanes)
	release.Downloaded(t, pulumitest.Provider)
}

func TestTypeScriptExample(t *testing.T) {
	exercise(t, nodeRunner, bothDataplanes)
}

func TestPythonExample(t *testing.T) {
	exercise(t, pythonRunner, sidecarOnly)
}

func TestGoExample(t *testing.T) {
	exercise(t, goRunner, sidecarOnly)
}

// dataplane is the data plane one walk of an example asks for.
type dataplane string

const (
	// sidecar leaves the example's dataplane unset: the default.
	sidecar dataplane = "sidecar"
	// ambient sets it to ambient: ztunnel, CNI and an east-west Gateway
	// that istiod deploys.
	ambient dataplane = "ambient"
)

// The walks of an example, in order: the ambient walk runs on the clusters
// and stack the sidecar walk's destroy left behind.
var (
	sidecarOnly    = []dataplane{sidecar}
	bothDataplanes = []dataplane{sidecar, ambient}
)

// bumpSteps is what a preview of cluster2's Istio bump updates: the control
// plane and the releases of the same version: the gateway's in a sidecar
// mesh, the node agents' (cni, ztunnel) in an ambient one. The ambient
// east-west Gateway has no version: istiod deploys it.
func (d dataplane) bumpSteps() map[string]string {
	if d == ambient {
		return map[string]string{
			"ristio:index:IstioControlPlane mesh-cluster2-istio":       "update",
			"ristio:index:AmbientNodeAgents mesh-cluster2-node-agents": "update",
		}
	}
	return map[string]string{
		"ristio:index:IstioControlPlane mesh-cluster2-istio":  "update",
		"ristio:index:EastWestGateway mesh-cluster2-eastwest": "update",
	}
}

// exercise walks one example through its life once per data plane, one
// after the other on the same two fresh clusters and the same stack (each
// walk ends in a destroy that leaves the clusters as it found them, which it
// checks). Subtests are named by data plane: -run 'TestYAMLExample/ambient'
// walks the ambient mesh alone.
func exercise(t *testing.T, newRunner func(t *testing.T, env map[string]string) runner, dataplanes []dataplane) {
	if testing.Short() {
		t.Skip("end-to-end example test")
	}
	env := pulumitest.Env(t)
	r := newRunner(t, env)
	w := localcluster.StartT(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w.RunKubelet(ctx)
	w.RunLoadBalancer(ctx, localcluster.LBIP)
	charts := testcharts.Directory(t)
	for _, d := range dataplanes {
		// A failed walk may leave the clusters and the stack dirty.
		if !t.Run(string(d), func(t *testing.T) { walk(t, w, r, charts, d) }) {
			return
		}
	}
}

// walk takes one example's stack through up, an empty preview, a preview of
// cluster2's Istio bump and destroy, with the given data plane.
func walk(t *testing.T, w *localcluster.World, r runner, charts string, d dataplane) {
	config := map[string]string{
		"kubeconfigPath": w.Kubeconfig,
		"context1":       "cluster1",
		"context2":       "cluster2",
		"chartDirectory": charts,
	}
	if d != sidecar {
		config["dataplane"] = string(d)
		// The stack's configuration outlives a walk: undo the last one's bump.
		config["istioVersion2"] = provider.DefaultIstioVersion
	}

	start := time.Now()
	up := r.run(t, "up", config)
	t.Logf("TIMING %s: up %s", t.Name(), time.Since(start).Round(time.Millisecond))
	addresses, _ := up.Outputs["gatewayAddresses"].(map[string]any)
	if len(addresses) != 2 {
		t.Errorf("gatewayAddresses = %v, want cluster1 and cluster2", up.Outputs["gatewayAddresses"])
	}
	for _, c := range w.Clusters {
		address, _ := addresses[c.Name].(string)
		if address == "" {
			t.Errorf("gatewayAddresses has no address for %s: %v", c.Name, addresses)
		}
		assertMeshObjects(t, c, peer(w, c))
		// The example's meshStatus is istiod's own word, from a real
		// pilot-discovery per cluster.
		status, _ := up.Outputs["meshStatus"].(map[string]any)
		if got, _ := status[c.Name].(map[string]any); got[peer(w, c)] != "synced" {
			t.Errorf("meshStatus[%s] = %v, want %s synced", c.Name, status[c.Name], peer(w, c))
		}
		if d == ambient {
			assertAmbientObjects(t, c, address)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	again := r.run(t, "preview", config)
	if got := changes(again); len(got) != 0 {
		t.Fatalf("preview right after up: %v, want no changes", got)
	}
	if got := again.changedSteps(); len(got) != 0 {
		t.Fatalf("preview right after up plans %v, want nothing", got)
	}
	if p := again.defaultProviderSteps(); len(p) > 0 {
		t.Logf("default providers (not counted as changes): %v", p)
	}

	config["istioVersion2"] = bumpedVersion
	bump := r.run(t, "preview", config)
	if got, want := bump.changedSteps(), d.bumpSteps(); !maps.Equal(got, want) {
		t.Errorf("preview of cluster2's bump to %s: %v, want %v\nall steps: %v", bumpedVersion, got, want, bump.Steps)
	}

	start = time.Now()
	r.run(t, "destroy", config)
	t.Logf("TIMING %s: destroy %s", t.Name(), time.Since(start).Round(time.Millisecond))
	for _, c := range w.Clusters {
		meshassert.NothingLeft(t, c)
		if d == ambient {
			assertAmbientGone(t, c)
		}
	}
}

func peer(w *localcluster.World, c *localcluster.Cluster) string {
	for _, o := range w.Clusters {
		if o != c {
			return o.Name
		}
	}
	return ""
}

// assertMeshObjects checks what the example makes in one cluster: cacerts,
// the peer's remote secret, istiod, the east-west gateway and the sample.
func assertMeshObjects(t *testing.T, c *localcluster.Cluster, peer string) {
	t.Helper()
	ctx := context.Background()
	secrets := c.Client.CoreV1().Secrets(naming.IstioNamespace)
	cacerts, err := secrets.Get(ctx, naming.CACertsSecret, metav1.GetOptions{})
	if err != nil {
		t.Errorf("%s: cacerts: %v", c.Name, err)
	} else if len(cacerts.Data["ca-cert.pem"]) == 0 || len(cacerts.Data["root-cert.pem"]) == 0 {
		t.Errorf("%s: cacerts holds %v, want ca-cert.pem and root-cert.pem", c.Name, slices.Sorted(maps.Keys(cacerts.Data)))
	}
	remote, err := secrets.Get(ctx, naming.RemoteSecret(peer), metav1.GetOptions{})
	if err != nil {
		t.Errorf("%s: remote secret for %s: %v", c.Name, peer, err)
	} else if remote.Labels[naming.MultiClusterLabel] != "true" {
		t.Errorf("%s: remote secret for %s has labels %v", c.Name, peer, remote.Labels)
	}
	for _, d := range []string{"istiod", naming.EastWestService} {
		if _, err := c.Client.AppsV1().Deployments(naming.IstioNamespace).Get(ctx, d, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: deployment %s: %v", c.Name, d, err)
		}
	}
	sample, err := c.Client.AppsV1().Deployments(naming.SampleNamespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(sample.Items) == 0 {
		t.Errorf("%s: no helloworld sample in namespace %s (%v)", c.Name, naming.SampleNamespace, err)
	}
}

// changes is a preview's summary without the resources that stay the same.
func changes(r result) map[string]int {
	out := map[string]int{}
	for op, n := range r.Summary {
		if op != "same" && n > 0 {
			out[op] = n
		}
	}
	return out
}

// copyExample copies examples/<name> to a fresh folder, so a run writes no
// stack files into the tree.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(pulumitest.RepoRoot(), "examples", name)
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copying examples/%s: %v", name, err)
	}
	return dst
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
