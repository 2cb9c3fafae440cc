package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestVerifyNamesTheBrokenPair breaks a working 2-cluster mesh in the ways
// istiod notices, and checks that ristio reports each one naming the pair,
// with what istiod said.
func TestVerifyNamesTheBrokenPair(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: testcharts.Directory(t), timeoutSeconds: 60}
	stack := pulumitest.InlineStack(t, "ristio-verify", meshProgram(spec))
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })
	res := pulumitest.Up(t, stack)
	all := names(spec.clusters)
	assertMeshStatus(t, res.Outputs, all)
	c1, c2 := w.Cluster("cluster1"), w.Cluster("cluster2")

	t.Run("a corrupted remote secret shows at refresh and up repairs it", func(t *testing.T) {
		s, err := c1.Client.CoreV1().Secrets(istioNS).Get(ctx, "istio-remote-secret-cluster2", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Data["cluster2"] = []byte("apiVersion: v1\nkind: Config\nclusters: [not, a, kubeconfig\n")
		if _, err := c1.Client.CoreV1().Secrets(istioNS).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// A running istiod keeps the connection it has when an updated secret
		// does not load (Istio's choice, for credential rotation); the next
		// istiod, after a rollout or a crash, cannot connect at all.
		restartIstiod(t, c1)
		waitClusterz(t, c1, "dropped cluster2", func(m map[string]string) bool { _, ok := m["cluster2"]; return !ok })
		if _, err := stack.Refresh(ctx); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		reason := pairStatus(t, stack, all, "cluster1", "cluster2")
		t.Logf("cluster1's istiod, asked by the pair's check, says of cluster2: %s", reason)
		if !containsAll(reason, "istiod", "cluster2", "istio-remote-secret-cluster2", "istiod says", "kubeconfig cannot be loaded") {
			t.Errorf("cluster1's istiod says of cluster2 %q; want the pair, the secret and istiod's own words", reason)
			logIstiod(t, w)
		}
		if got := pairStatus(t, stack, all, "cluster2", "cluster1"); got != "synced" {
			t.Errorf("cluster2's istiod says of cluster1 %q, want synced (only cluster1's secret was broken)", got)
		}
		// The pair is checked by the later cluster's check; the first
		// cluster's own check (its istiod and cacerts) still passes.
		want := map[string]string{"mesh-cluster2-to-cluster1": "update", "mesh-cluster2-check": "update"}
		if pre := previewSteps(t, stack); !equalSteps(pre, want) {
			t.Fatalf("preview after corruption: %v, want %v", pre, want)
		}
		assertMeshStatus(t, pulumitest.Up(t, stack).Outputs, all)
	})

	t.Run("checkMesh reports a gateway address istiod does not know", func(t *testing.T) {
		wrong := checkMeshCall(t, checkMeshInput{kubeconfig: w.Kubeconfig, gateways: map[string]string{"cluster2": "127.0.1.99"}})
		if healthy, _ := wrong["healthy"].(bool); healthy {
			t.Fatalf("checkMesh with a wrong gateway address is healthy: %v", wrong)
		}
		problems := fmt.Sprint(wrong["problems"])
		if !containsAll(problems, "cluster1:", "cluster2", "127.0.1.99:15443", "network-cluster2") || strings.Contains(problems, "cluster2: ") {
			t.Errorf("problems %s: want exactly cluster1's view of cluster2's gateway named", problems)
		}
		right := checkMeshCall(t, checkMeshInput{kubeconfig: w.Kubeconfig})
		if healthy, _ := right["healthy"].(bool); !healthy {
			t.Errorf("checkMesh of the working mesh: %v", right)
		}
	})

	t.Run("checkMesh needs no more than docs/mesh-checker-rbac.yaml, and no secret", func(t *testing.T) {
		kubeconfig := checkerKubeconfig(t, w)
		got := checkMeshCall(t, checkMeshInput{kubeconfig: kubeconfig})
		if healthy, _ := got["healthy"].(bool); !healthy {
			t.Errorf("checkMesh as the least-privileged checker: %v", got)
		}
	})

	t.Run("a peer whose API server is down fails up naming the pair", func(t *testing.T) {
		c2.StopAPIServer()
		t.Cleanup(func() {
			if err := c2.StartAPIServer(ctx); err != nil {
				t.Errorf("restart cluster2's API server: %v", err)
			}
		})
		// A fresh istiod in cluster1 must reach cluster2 to sync it.
		restartIstiod(t, c1)
		urn := resourceURN(t, stack, "mesh-cluster2-check")
		if _, err := stack.Refresh(ctx, optrefresh.Target([]string{urn})); err != nil {
			t.Fatalf("refresh of the pair's check: %v", err)
		}
		if reason := pairStatus(t, stack, all, "cluster1", "cluster2"); !strings.Contains(reason, "cluster2") || reason == "synced" {
			t.Errorf("after refresh cluster1's istiod says of cluster2 %q", reason)
		}
		_, err := stack.Up(ctx, optup.Target([]string{urn}))
		if err == nil {
			t.Fatal("up succeeded with cluster2's API server down")
		}
		msg := err.Error()
		if i := strings.Index(msg, "mesh check did not pass"); i >= 0 {
			t.Logf("up with cluster2's API server down: %s", headLines(msg[i:], 4))
		}
		if !containsAll(msg, "cluster1: ", "cluster2", "mesh check did not pass") {
			t.Errorf("up failed without naming the pair: %v", headLines(msg, 40))
			logIstiod(t, w)
		}
		if err := c2.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		restartIstiod(t, c1)
		assertMeshStatus(t, pulumitest.Up(t, stack).Outputs, all)
	})
}

// restartIstiod deletes the istiod pods of c, as a rollout would, and waits
// until their replacements run.
func restartIstiod(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	old := istiodPods(t, c)
	if err := c.Client.CoreV1().Pods(istioNS).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=istiod"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		pods, err := c.Client.CoreV1().Pods(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "app=istiod"})
		if err != nil {
			t.Fatal(err)
		}
		fresh := len(pods.Items) > 0
		for _, p := range pods.Items {
			fresh = fresh && !slices.Contains(old, p.Name) && podReady(p.Status.Conditions)
		}
		if fresh {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s: istiod pods %v were not replaced by ready ones", c.Name, old)
}

// headLines is the first n lines of s.
func headLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func podReady(conds []corev1.PodCondition) bool {
	for _, c := range conds {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pairStatus is what cluster's istiods said of peer at the last check. The
// pair is checked by the MeshCheck of whichever comes later in all: its
// status holds its own istiods' word, its peerStatus the earlier cluster's.
func pairStatus(t *testing.T, stack auto.Stack, all []string, cluster, peer string) string {
	t.Helper()
	key, check, field := peer, cluster, "status"
	if slices.Index(all, cluster) < slices.Index(all, peer) {
		key, check, field = cluster, peer, "peerStatus"
	}
	status, _ := resourceOutputs(t, stack, "mesh-"+check+"-check")[field].(map[string]any)
	s, _ := status[key].(string)
	return s
}

func resourceURN(t *testing.T, stack auto.Stack, name string) string {
	t.Helper()
	urn, _ := resourceOutputs(t, stack, name)["__urn"].(string)
	return urn
}

// resourceOutputs finds a resource by name in the exported state; its URN is
// added as __urn.
func resourceOutputs(t *testing.T, stack auto.Stack, name string) map[string]any {
	t.Helper()
	dep, err := stack.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			URN     string         `json:"urn"`
			Outputs map[string]any `json:"outputs"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(dep.Deployment, &state); err != nil {
		t.Fatal(err)
	}
	for _, r := range state.Resources {
		if strings.HasSuffix(r.URN, "::"+name) {
			out := r.Outputs
			if out == nil {
				out = map[string]any{}
			}
			out["__urn"] = r.URN
			return out
		}
	}
	t.Fatalf("no resource %s in the stack", name)
	return nil
}

// checkMeshInput is what a test gives checkMesh about the world's cluster1
// and cluster2.
type checkMeshInput struct {
	kubeconfig string
	gateways   map[string]string // gateway addresses overridden per cluster
	dataplane  string            // default: checkMesh's (sidecar)
}

// checkMeshCall runs the checkMesh function from an inline program and
// returns its result.
func checkMeshCall(t *testing.T, in checkMeshInput) map[string]any {
	t.Helper()
	program := func(ctx *pulumi.Context) error {
		var clusters []map[string]any
		for _, name := range []string{"cluster1", "cluster2"} {
			c := map[string]any{"name": name, "kubeconfigFile": in.kubeconfig, "context": name}
			if a := in.gateways[name]; a != "" {
				c["gatewayAddress"] = a
			}
			clusters = append(clusters, c)
		}
		args := map[string]any{"clusters": clusters}
		if in.dataplane != "" {
			args["dataplane"] = in.dataplane
		}
		var result struct {
			Status   map[string]map[string]string `pulumi:"status"`
			Healthy  bool                         `pulumi:"healthy"`
			Problems []string                     `pulumi:"problems"`
		}
		if err := ctx.Invoke("ristio:index:checkMesh", args, &result); err != nil {
			return err
		}
		ctx.Export("status", pulumi.ToStringMapMap(result.Status))
		ctx.Export("healthy", pulumi.Bool(result.Healthy))
		ctx.Export("problems", pulumi.ToStringArray(result.Problems))
		return nil
	}
	stack := pulumitest.InlineStack(t, "ristio-checkmesh", program)
	res := pulumitest.Up(t, stack)
	out := map[string]any{}
	for k, v := range res.Outputs {
		out[k] = v.Value
	}
	return out
}

// checkerKubeconfig applies docs/mesh-checker-rbac.yaml in every cluster of
// w, for a service account ristio-check/mesh-checker made here, and returns
// a kubeconfig with the world's contexts that authenticates as that account
// and nothing else.
func checkerKubeconfig(t *testing.T, w *localcluster.World) string {
	t.Helper()
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join(pulumitest.RepoRoot(), "docs", "mesh-checker-rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(w.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Clusters {
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ristio-check"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Client.CoreV1().ServiceAccounts("ristio-check").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "mesh-checker"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			var obj unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
				t.Fatalf("docs/mesh-checker-rbac.yaml: %v", err)
			}
			if ns := obj.GetNamespace(); ns != "" {
				if _, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
					continue // no sample here
				}
			}
			gvr := schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: strings.ToLower(obj.GetKind()) + "s"}
			var ri dynamic.ResourceInterface = dynamicClient(t, c).Resource(gvr)
			if ns := obj.GetNamespace(); ns != "" {
				ri = dynamicClient(t, c).Resource(gvr).Namespace(ns)
			}
			if _, err := ri.Create(ctx, &obj, metav1.CreateOptions{}); err != nil {
				t.Fatalf("%s: %s %s: %v", c.Name, obj.GetKind(), obj.GetName(), err)
			}
		}
		tr, err := c.Client.CoreV1().ServiceAccounts("ristio-check").CreateToken(ctx, "mesh-checker", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		user := cfg.Contexts[c.Name].AuthInfo
		cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	}
	path := filepath.Join(t.TempDir(), "checker-kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
