package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/kube"
)

// TestAdoptRistioctlMesh moves a live mesh made the ristioctl way (see
// ristioctl_mesh_test.go) to ristio: `pulumi convert --from ristioctl
// --language yaml -- --adopt` writes the program, and one `up` takes every
// cluster over under the old root while Istio's own istiod, watched through
// /debug/clusterz, keeps each peer throughout.
func TestAdoptRistioctlMesh(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	ctx := context.Background()
	all := []string{w.Clusters[0].Name, w.Clusters[1].Name}
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	ristioctlMesh(t, w, certs)
	// cluster2 reaches cluster1 at localhost (`create-remote-secret
	// --server`), not at the kubeconfig's 127.0.0.1: adoption keeps it.
	viaLocalhost := strings.Replace(w.Clusters[0].Server, "127.0.0.1", "localhost", 1)
	istioctlRemoteSecret(t, w, w.Clusters[0], w.Clusters[1], "--server", viaLocalhost)
	for _, c := range w.Clusters {
		waitClusterz(t, c, "synced its peer before adoption", func(m map[string]string) bool {
			return m[peersOf(all, c.Name)[0]] == "synced"
		})
	}
	before := liveMesh(t, w)
	stack := adoptionStack(t, w, dir, certs)

	t.Run("preview lists what each cluster adopts", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := stack.Preview(ctx, optpreview.ProgressStreams(&out)); err != nil {
			t.Fatalf("preview: %v\n%s", err, out.String())
		}
		for _, c := range all {
			peer := peersOf(all, c)[0]
			for _, want := range []string{
				"cluster " + c + ": adopt Secret istio-system/cacerts",
				"cluster " + c + ": adopt istio-system/cacerts: its intermediate is kept if the mesh root issued it",
				"cluster " + c + ": adopt release istio from istioctl",
				"cluster " + c + ": adopt release istio-eastwestgateway from istioctl",
				"cluster " + c + ": adopt Gateway istio-system/cross-network-gateway",
				"cluster " + c + ": adopt Secret istio-system/istio-remote-secret-" + peer,
				c + ": istiod will be restarted after its remote secrets are rewritten (istiod reports no Istio release",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("preview does not say %q:\n%s", want, out.String())
				}
			}
		}
		kept := "cluster cluster2: adopt Secret istio-system/istio-remote-secret-cluster1: keeps its API server for cluster1, " + viaLocalhost
		if !strings.Contains(out.String(), kept) {
			t.Errorf("preview does not say %q:\n%s", kept, out.String())
		}
		if strings.Contains(out.String(), "will no longer trust") {
			t.Errorf("preview warns of a dropped root, but the mesh's root is ristioctl's only one:\n%s", out.String())
		}
	})

	t.Run("up takes the mesh over without a gap", func(t *testing.T) {
		watch := watchPeers(t, w, all)
		start := time.Now()
		res := pulumitest.Up(t, stack)
		t.Logf("adoption up with 2 clusters: %s", time.Since(start).Round(time.Millisecond))
		watch.stop(t)
		after := liveMesh(t, w)
		for _, c := range all {
			b, a := before[c], after[c]
			if !bytes.Equal(a.rootCert, b.rootCert) {
				t.Errorf("%s: root-cert.pem changed", c)
			}
			if !bytes.Equal(a.caCert, b.caCert) {
				t.Errorf("%s: ca-cert.pem changed: the intermediate ristioctl made was not kept", c)
			}
			// Adoption rewrites istioctl's remote secrets, and this world's
			// istiod (a build with istio/istio#61043 that reports no release)
			// then gets one rolling restart, which is all that changes in
			// its pod template.
			if a.istiodTemplate != b.istiodTemplate {
				t.Errorf("%s: istiod's pod template changed beyond the restart:\n%s\n→\n%s", c, b.istiodTemplate, a.istiodTemplate)
			}
			if a.restartedAt == "" || slices.Equal(a.istiodPods, b.istiodPods) {
				t.Errorf("%s: istiod was not restarted after its remote secret was rewritten (pods %v → %v)", c, b.istiodPods, a.istiodPods)
			}
			if a.gatewayAddress != b.gatewayAddress {
				t.Errorf("%s: the east-west gateway's address moved: %s → %s", c, b.gatewayAddress, a.gatewayAddress)
			}
		}
		assertMeshStatus(t, res.Outputs, all)
		assertServedCertsChain(t, w, all)
		for _, c := range w.Clusters {
			assertAdopted(t, c, peersOf(all, c.Name)[0])
		}
		if got := remoteServer(t, w.Clusters[1], w.Clusters[0].Name); got != viaLocalhost {
			t.Errorf("cluster2's adopted remote secret reaches cluster1 at %s, want istioctl's %s", got, viaLocalhost)
		}
		if got := remoteServer(t, w.Clusters[0], w.Clusters[1].Name); got != w.Clusters[1].Server {
			t.Errorf("cluster1's adopted remote secret reaches cluster2 at %s, want %s", got, w.Clusters[1].Server)
		}
	})

	t.Run("a second preview shows no changes", func(t *testing.T) {
		if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
			t.Fatalf("preview after adoption: %v, want no changes", got)
		}
	})

	t.Run("destroy removes what ristio now owns", func(t *testing.T) {
		if _, err := stack.Destroy(ctx); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		for _, c := range w.Clusters {
			assertNothingOwned(t, c)
		}
	})
}

// adoptionStack writes the program a ristioctl user gets for the mesh
// ristioctlMesh made (`pulumi convert --from ristioctl -- --adopt`), with
// the test charts, and returns its stack, destroyed when the test ends.
func adoptionStack(t *testing.T, w *localcluster.World, dir, certs string) auto.Stack {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "mesh.yaml"), []byte(ristioctlMeshFile(w, certs)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := pulumitest.ConverterEnv(t)
	project := filepath.Join(dir, "usmesh")
	if out, err := pulumitest.Run(t, env, dir, "convert", "--from", "ristioctl", "--language", "yaml", "--out", project, "--", "--adopt"); err != nil {
		t.Fatalf("pulumi convert: %v\n%s", err, out)
	}
	program := string(readFile(t, filepath.Join(project, "Main.yaml")))
	for _, want := range []string{"adopt: true", "fn::readFile: " + filepath.Join(certs, "root-cert.pem"), "fn::readFile: " + filepath.Join(certs, "root-key.pem")} {
		if !strings.Contains(program, want) {
			t.Errorf("converted program lacks %q:\n%s", want, program)
		}
	}
	localize(t, project, testcharts.Directory(t))
	stack := pulumitest.LocalStack(t, project)
	t.Cleanup(func() { _, _ = stack.Destroy(context.Background()) })
	return stack
}

// remoteServer is the API server the remote secret for peer in c names.
func remoteServer(t *testing.T, c *localcluster.Cluster, peer string) string {
	t.Helper()
	s, err := c.Client.CoreV1().Secrets(istioNS).Get(context.Background(), "istio-remote-secret-"+peer, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: remote secret for %s: %v", c.Name, peer, err)
	}
	cfg, err := clientcmd.Load(s.Data[peer])
	if err != nil || cfg.Clusters[peer] == nil {
		t.Fatalf("%s: remote secret for %s holds no cluster %s: %v", c.Name, peer, peer, err)
	}
	return cfg.Clusters[peer].Server
}

// meshSnapshot is what must not change in a cluster while it is adopted.
type meshSnapshot struct {
	rootCert, caCert []byte
	istiodPods       []string
	restartedAt      string // kubectl's restart annotation on istiod's pod template
	istiodTemplate   string // the pod template: a change rolls istiod
	gatewayAddress   string
}

func liveMesh(t *testing.T, w *localcluster.World) map[string]meshSnapshot {
	t.Helper()
	ctx := context.Background()
	out := map[string]meshSnapshot{}
	for _, c := range w.Clusters {
		cacerts, err := c.Client.CoreV1().Secrets(istioNS).Get(ctx, "cacerts", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: cacerts: %v", c.Name, err)
		}
		istiod, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istiod", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: istiod: %v", c.Name, err)
		}
		svc, err := c.Client.CoreV1().Services(istioNS).Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: east-west gateway: %v", c.Name, err)
		}
		var address string
		if ing := svc.Status.LoadBalancer.Ingress; len(ing) > 0 {
			address = ing[0].IP + ing[0].Hostname
		}
		restartedAt := istiod.Spec.Template.Annotations[kube.RestartedAtAnnotation]
		delete(istiod.Spec.Template.Annotations, kube.RestartedAtAnnotation)
		template, err := json.Marshal(istiod.Spec.Template)
		if err != nil {
			t.Fatal(err)
		}
		out[c.Name] = meshSnapshot{
			rootCert: cacerts.Data["root-cert.pem"], caCert: cacerts.Data["ca-cert.pem"],
			istiodPods: istiodPods(t, c), istiodTemplate: string(template), restartedAt: restartedAt, gatewayAddress: address,
		}
	}
	return out
}

// peerWatch polls every istiod's /debug/clusterz until stopped, and keeps
// what it saw of each cluster's peer.
type peerWatch struct {
	done     chan struct{}
	wg       sync.WaitGroup
	start    time.Time
	mu       sync.Mutex
	polls    int
	statuses map[string]map[string]int // cluster → status of the peer ("" when absent) → polls
	timeline map[string][]string       // cluster → "+12.3s syncing" at each change
	last     map[string]string
	errs     []string
}

// watchPeers starts polling. The peer must stay listed the whole time, and
// end synced: an update of its remote secret makes istiod build a new
// client, listed as syncing until it has synced, while the old one goes on
// serving (Istio's secret controller swaps them only then). In this Istio
// the new client of an update is reported syncing until istiod's remote
// cluster sync timeout (30 s) and timeout for a moment before synced. A
// removal would unlist the peer; a bad secret would stay timeout or fail,
// and the up would fail its mesh check.
func watchPeers(t *testing.T, w *localcluster.World, all []string) *peerWatch {
	t.Helper()
	pw := &peerWatch{done: make(chan struct{}), start: time.Now(), statuses: map[string]map[string]int{}, timeline: map[string][]string{}, last: map[string]string{}}
	for _, c := range w.Clusters {
		pw.statuses[c.Name] = map[string]int{}
		peer := peersOf(all, c.Name)[0]
		client := istiodClient(t, c)
		pw.wg.Add(1)
		go func() {
			defer pw.wg.Done()
			for {
				select {
				case <-pw.done:
					return
				case <-time.After(300 * time.Millisecond):
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				pods, err := client.RunningPods(ctx, istioNS, "app=istiod")
				status := ""
				for _, pod := range pods {
					if !podIsReady(&pod) || status == "synced" {
						continue // a restarted istiod serves once ready; one synced istiod serves the peer
					}
					var body []byte
					if body, err = client.PodGet(ctx, istioNS, pod.Name, 15014, "/debug/clusterz"); err == nil {
						var m map[string]string
						if m, err = parseClusterz(body); err == nil {
							status = m[peer]
						}
					}
				}
				cancel()
				pw.mu.Lock()
				pw.polls++
				if err != nil {
					pw.errs = append(pw.errs, fmt.Sprintf("%s: %v", c.Name, err))
				} else {
					pw.statuses[c.Name][status]++
					if prev, seen := pw.last[c.Name]; !seen || prev != status {
						pw.timeline[c.Name] = append(pw.timeline[c.Name], fmt.Sprintf("+%.1fs %q", time.Since(pw.start).Seconds(), status))
						pw.last[c.Name] = status
					}
				}
				pw.mu.Unlock()
			}
		}()
	}
	return pw
}

// podIsReady says whether the pod's Ready condition is true.
func podIsReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (pw *peerWatch) stop(t *testing.T) {
	t.Helper()
	close(pw.done)
	pw.wg.Wait()
	t.Logf("clusterz during up: %d polls; peer status seen: %v; changes: %v", pw.polls, pw.statuses, pw.timeline)
	for _, e := range pw.errs {
		t.Errorf("clusterz poll failed: %s", e)
	}
	for c, seen := range pw.statuses {
		if pw.last[c] != "synced" {
			t.Errorf("%s: at the end of up istiod reports its peer %q, not synced", c, pw.last[c])
		}
		for status, n := range seen {
			if status != "synced" && status != "syncing" && status != "timeout" {
				t.Errorf("%s: istiod reported its peer %q in %d polls during up", c, status, n)
			}
		}
	}
}

// assertAdopted checks that what istioctl and ristioctl made now carries
// ristio's marks, and that istioctl's own leftovers are gone.
func assertAdopted(t *testing.T, c *localcluster.Cluster, peer string) {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"cacerts", "istio-remote-secret-" + peer} {
		s, err := c.Client.CoreV1().Secrets(istioNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil || s.Labels["app.kubernetes.io/managed-by"] != "ristio" {
			t.Errorf("%s: secret %s not ristio's: %v %v", c.Name, name, s.GetLabels(), err)
		}
	}
	gw, err := dynamicClient(t, c).Resource(gatewayGVR).Namespace(istioNS).Get(ctx, "cross-network-gateway", metav1.GetOptions{})
	if err != nil || gw.GetLabels()["app.kubernetes.io/managed-by"] != "ristio" {
		t.Errorf("%s: cross-network-gateway not ristio's: %v", c.Name, err)
	}
	for _, release := range []string{"istio-base", "istio", "istio-eastwestgateway"} {
		if got := releaseStatus(t, c, release); got != "deployed" {
			t.Errorf("%s: release %s = %q, want deployed", c.Name, release, got)
		}
	}
	istiod, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istiod", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gateway, err := c.Client.CoreV1().Services(istioNS).Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []metav1.Object{istiod, gateway} {
		if obj.GetAnnotations()["meta.helm.sh/release-name"] == "" {
			t.Errorf("%s: %s belongs to no Helm release: %v", c.Name, obj.GetName(), obj.GetAnnotations())
		}
	}
	// istioctl's default tag gave way to the release's own injector.
	if _, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "istio-revision-tag-default", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s: istioctl's default tag webhook is still there (%v)", c.Name, err)
	}
	assertInjectorOff(t, c, false)
	if _, err := c.Client.CoreV1().ServiceAccounts(istioNS).Get(ctx, "istio-eastwestgateway-service-account", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s: istioctl's gateway service account is still there (%v)", c.Name, err)
	}
}

// assertNothingOwned checks that destroy removed everything ristio owned in
// a cluster it adopted: istio-system itself was ristioctl's and stays, as
// does the ingress gateway istioctl's default profile installs.
func assertNothingOwned(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	owned, err := c.Client.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=ristio"})
	if err != nil {
		t.Fatal(err)
	}
	releases, err := c.Client.CoreV1().Secrets(istioNS).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil {
		t.Fatal(err)
	}
	deployments, err := c.Client.AppsV1().Deployments(istioNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(owned.Items, releases.Items...) {
		t.Errorf("%s: secret %s/%s survived destroy", c.Name, s.Namespace, s.Name)
	}
	for _, d := range deployments.Items {
		// The default profile's ingress gateway is istioctl's: ristio never took it.
		if d.Name != "istio-ingressgateway" {
			t.Errorf("%s: deployment %s survived destroy", c.Name, d.Name)
		}
	}
	if _, err := dynamicClient(t, c).Resource(gatewayGVR).Namespace(istioNS).Get(ctx, "cross-network-gateway", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s: cross-network-gateway survived destroy (%v)", c.Name, err)
	}
	webhooks, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, wh := range webhooks.Items {
		t.Errorf("%s: mutating webhook configuration %s survived destroy", c.Name, wh.Name)
	}
}
