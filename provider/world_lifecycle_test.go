package provider_test

// Shared helpers of the *_lifecycle_test.go files: a local world, cluster
// connections as property values, a driver that calls the provider the way
// the engine does and keeps what the engine keeps between calls, and a few
// assertions on diffs and on cluster contents.

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
)

const (
	istioNS = "istio-system"
	// lifecycleTimeout bounds every wait the provider does, far below the
	// default 600s, so a stuck wait fails the test instead of the test binary.
	lifecycleTimeout = 180.0
)

var (
	gatewayGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "gateways"}
	crdGVR     = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// lifecycleWorld starts n clusters with the kubelet and load-balancer
// emulators running until the test ends.
func lifecycleWorld(t *testing.T, n int) *localcluster.World {
	t.Helper()
	w, ctx := kubeletWorld(t, n)
	w.RunLoadBalancer(ctx, localcluster.LBIP)
	return w
}

// kubeletWorld starts n clusters with only the kubelet emulator running; the
// returned context lasts as long as the test, for emulators started later.
func kubeletWorld(t *testing.T, n int) (*localcluster.World, context.Context) {
	t.Helper()
	start := time.Now()
	w := localcluster.StartT(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // runs before StartT's Stop
	w.RunKubelet(ctx)
	t.Logf("started %d local cluster(s) in %s", n, time.Since(start).Round(time.Millisecond))
	return w, ctx
}

// lifecycleServer is a provider server on a settable clock whose charts are
// cached in a folder of the test's own.
func lifecycleServer(t *testing.T, c *clock) integration.Server {
	t.Helper()
	deps := testDeps(c)
	deps.ChartCache = t.TempDir()
	return newServer(t, deps)
}

// fileConn reaches a cluster of w through the world's kubeconfig file.
func fileConn(w *localcluster.World, name string) property.Value {
	return property.New(property.NewMap(map[string]property.Value{
		"name":           str(name),
		"kubeconfigFile": str(w.Kubeconfig),
		"context":        str(name),
	}))
}

// secretConn reaches a cluster of w through kubeconfig contents, marked
// secret as a Pulumi program would pass them.
func secretConn(t *testing.T, w *localcluster.World, name string) property.Value {
	t.Helper()
	data, err := os.ReadFile(w.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return property.New(property.NewMap(map[string]property.Value{
		"name":       str(name),
		"kubeconfig": property.New(string(data)).WithSecret(true),
		"context":    str(name),
	}))
}

// withName returns a connection like conn that names another cluster.
func withName(conn property.Value, name string) property.Value {
	return property.New(conn.AsMap().Set("name", str(name)))
}

// resource drives one custom resource through the provider as the engine
// would, keeping its checked inputs, ID and last state between calls.
type resource struct {
	s      integration.Server
	urn    presource.URN
	id     string
	inputs property.Map // the last inputs created or updated with
	state  property.Map // the last state returned by Create, Read or Update
}

func newResource(s integration.Server, typ, name string) *resource {
	return &resource{s: s, urn: urn(typ, name)}
}

// check runs Check and fails the test on any failure.
func (r *resource) check(t *testing.T, inputs map[string]property.Value) property.Map {
	t.Helper()
	resp, err := r.s.Check(p.CheckRequest{Urn: r.urn, Inputs: property.NewMap(inputs)})
	if err != nil {
		t.Fatalf("check %s: %v", r.urn.Name(), err)
	}
	if len(resp.Failures) > 0 {
		t.Fatalf("check %s: failures %+v", r.urn.Name(), resp.Failures)
	}
	return resp.Inputs
}

// checkFailures runs Check and returns its failures, reason by property.
func (r *resource) checkFailures(t *testing.T, inputs map[string]property.Value) map[string]string {
	t.Helper()
	resp, err := r.s.Check(p.CheckRequest{Urn: r.urn, Inputs: property.NewMap(inputs)})
	if err != nil {
		t.Fatalf("check %s: %v", r.urn.Name(), err)
	}
	out := map[string]string{}
	for _, f := range resp.Failures {
		out[f.Property] = f.Reason
	}
	return out
}

// preview runs Create with DryRun and returns its outputs; r keeps nothing.
func (r *resource) preview(t *testing.T, inputs property.Map) property.Map {
	t.Helper()
	resp, err := r.s.Create(p.CreateRequest{Urn: r.urn, Properties: inputs, DryRun: true, Timeout: lifecycleTimeout})
	if err != nil {
		t.Fatalf("preview create %s: %v", r.urn.Name(), err)
	}
	return resp.Properties
}

func (r *resource) create(t *testing.T, inputs property.Map) {
	t.Helper()
	start := time.Now()
	resp, err := r.s.Create(p.CreateRequest{Urn: r.urn, Properties: inputs, Timeout: lifecycleTimeout})
	if err != nil {
		t.Fatalf("create %s: %v", r.urn.Name(), err)
	}
	if resp.ID == "" {
		t.Fatalf("create %s: no ID", r.urn.Name())
	}
	t.Logf("created %s in %s", r.urn.Name(), time.Since(start).Round(time.Millisecond))
	r.id, r.inputs, r.state = resp.ID, inputs, resp.Properties
}

// read refreshes r's state from the cluster, as `pulumi refresh` does.
func (r *resource) read(t *testing.T) {
	t.Helper()
	resp, err := r.s.Read(p.ReadRequest{ID: r.id, Urn: r.urn, Properties: r.state, Inputs: r.inputs})
	if err != nil {
		t.Fatalf("read %s: %v", r.urn.Name(), err)
	}
	if resp.ID != r.id {
		t.Fatalf("read %s: ID %q, want %q", r.urn.Name(), resp.ID, r.id)
	}
	r.state = resp.Properties
}

// diff compares r's state with new inputs.
func (r *resource) diff(t *testing.T, inputs property.Map) p.DiffResponse {
	t.Helper()
	resp, err := r.s.Diff(p.DiffRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: inputs, OldInputs: r.inputs})
	if err != nil {
		t.Fatalf("diff %s: %v", r.urn.Name(), err)
	}
	return resp
}

func (r *resource) update(t *testing.T, inputs property.Map) {
	t.Helper()
	start := time.Now()
	resp, err := r.s.Update(p.UpdateRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: inputs, OldInputs: r.inputs, Timeout: lifecycleTimeout})
	if err != nil {
		t.Fatalf("update %s: %v", r.urn.Name(), err)
	}
	t.Logf("updated %s in %s", r.urn.Name(), time.Since(start).Round(time.Millisecond))
	r.inputs, r.state = inputs, resp.Properties
}

// previewUpdate runs Update with DryRun and returns its outputs; r keeps nothing.
func (r *resource) previewUpdate(t *testing.T, inputs property.Map) property.Map {
	t.Helper()
	resp, err := r.s.Update(p.UpdateRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: inputs, OldInputs: r.inputs, DryRun: true, Timeout: lifecycleTimeout})
	if err != nil {
		t.Fatalf("preview update %s: %v", r.urn.Name(), err)
	}
	return resp.Properties
}

func (r *resource) delete(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := r.s.Delete(p.DeleteRequest{ID: r.id, Urn: r.urn, Properties: r.state, OldInputs: r.inputs, Timeout: lifecycleTimeout}); err != nil {
		t.Fatalf("delete %s: %v", r.urn.Name(), err)
	}
	t.Logf("deleted %s in %s", r.urn.Name(), time.Since(start).Round(time.Millisecond))
}

func (r *resource) str(key string) string {
	v := r.state.Get(key)
	if !v.IsString() {
		return ""
	}
	return v.AsString()
}

func (r *resource) bool(key string) bool {
	v := r.state.Get(key)
	return v.IsBool() && v.AsBool()
}

func (r *resource) num(key string) int {
	v := r.state.Get(key)
	if !v.IsNumber() {
		return 0
	}
	return int(v.AsNumber())
}

// step runs one scenario of a lifecycle; the scenarios build on each other,
// so the first failure ends the test.
func step(t *testing.T, scenario string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(scenario, f) {
		t.FailNow()
	}
}

// wantNoChanges fails unless the diff is empty.
func wantNoChanges(t *testing.T, d p.DiffResponse) {
	t.Helper()
	if d.HasChanges || len(d.DetailedDiff) > 0 {
		t.Errorf("diff = %v (hasChanges %v), want no changes", d.DetailedDiff, d.HasChanges)
	}
}

// wantUpdate fails unless the diff updates field in place and replaces nothing.
func wantUpdate(t *testing.T, d p.DiffResponse, field string) {
	t.Helper()
	if !d.HasChanges {
		t.Errorf("diff has no changes, want an update of %s", field)
	}
	if got := d.DetailedDiff[field].Kind; got != p.Update {
		t.Errorf("diff of %s = %q, want %q; whole diff %v", field, got, p.Update, d.DetailedDiff)
	}
	if f := replacing(d); f != "" {
		t.Errorf("diff replaces on %s, want an update in place; whole diff %v", f, d.DetailedDiff)
	}
}

// replacing names a property whose change replaces the resource, or "".
func replacing(d p.DiffResponse) string {
	var fields []string
	for f, pd := range d.DetailedDiff {
		switch pd.Kind {
		case p.UpdateReplace, p.AddReplace, p.DeleteReplace:
			fields = append(fields, f)
		}
	}
	sort.Strings(fields)
	return strings.Join(fields, ",")
}

// wantReplace fails unless the diff replaces the resource.
func wantReplace(t *testing.T, d p.DiffResponse) {
	t.Helper()
	if !d.HasChanges || replacing(d) == "" {
		t.Errorf("diff = %v (hasChanges %v), want a replacement", d.DetailedDiff, d.HasChanges)
	}
}

// wantSecret fails unless the value at path (keys into nested maps) is
// present and marked secret.
func wantSecret(t *testing.T, m property.Map, path ...string) {
	t.Helper()
	v := property.New(m)
	for _, k := range path {
		if !v.IsMap() {
			t.Errorf("%s: %v is not a map", strings.Join(path, "."), v)
			return
		}
		if v.Secret() {
			return // a secret parent hides everything below it
		}
		v = v.AsMap().Get(k)
	}
	if v.IsNull() {
		t.Errorf("%s is missing from the outputs", strings.Join(path, "."))
	} else if !v.Secret() {
		t.Errorf("%s is not marked secret in the outputs", strings.Join(path, "."))
	}
}

// eventually polls cond until it holds or a minute passes.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last error: %v)", what, lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func dynamicFor(t *testing.T, c *localcluster.Cluster) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// getSecret returns the secret, or nil when it does not exist.
func getSecret(t *testing.T, c *localcluster.Cluster, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := c.Client.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("%s: secret %s/%s: %v", c.Name, ns, name, err)
	}
	return s
}

// getNamespace returns the namespace, or nil when it does not exist.
func getNamespace(t *testing.T, c *localcluster.Cluster, name string) *corev1.Namespace {
	t.Helper()
	ns, err := c.Client.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("%s: namespace %s: %v", c.Name, name, err)
	}
	return ns
}

// helmRelease returns the status and revision of the newest revision of a
// release in istio-system, from Helm's own storage; "" and 0 when there is none.
func helmRelease(t *testing.T, c *localcluster.Cluster, name string) (status string, revision int) {
	t.Helper()
	list, err := c.Client.CoreV1().Secrets(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + name})
	if err != nil {
		t.Fatalf("%s: listing revisions of release %s: %v", c.Name, name, err)
	}
	for _, s := range list.Items {
		var v int
		if _, err := fmt.Sscanf(s.Labels["version"], "%d", &v); err == nil && v > revision {
			revision, status = v, s.Labels["status"]
		}
	}
	return status, revision
}

// snapshot lists, with their resource versions, the objects a ristio
// resource could create or change: namespaces, secrets, config maps,
// services, service accounts and deployments outside kube-*, CRDs, webhooks
// and RBAC. Objects controllers add to every namespace are left out.
func snapshot(t *testing.T, c *localcluster.Cluster) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	add := func(kind, ns, name, rv string) {
		if strings.HasPrefix(ns, "kube-") || (kind == "namespace" && strings.HasPrefix(name, "kube-")) {
			return
		}
		if (kind == "serviceaccount" && name == "default") || (kind == "configmap" && name == "kube-root-ca.crt") {
			return
		}
		out[kind+" "+ns+"/"+name] = rv
	}
	fail := func(kind string, err error) {
		t.Fatalf("%s: listing %ss: %v", c.Name, kind, err)
	}
	core, apps := c.Client.CoreV1(), c.Client.AppsV1()
	if l, err := core.Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		fail("namespace", err)
	} else {
		for _, o := range l.Items {
			add("namespace", "", o.Name, o.ResourceVersion)
		}
	}
	if l, err := core.Secrets("").List(ctx, metav1.ListOptions{}); err != nil {
		fail("secret", err)
	} else {
		for _, o := range l.Items {
			add("secret", o.Namespace, o.Name, o.ResourceVersion)
		}
	}
	if l, err := core.ConfigMaps("").List(ctx, metav1.ListOptions{}); err != nil {
		fail("configmap", err)
	} else {
		for _, o := range l.Items {
			add("configmap", o.Namespace, o.Name, o.ResourceVersion)
		}
	}
	if l, err := core.Services("").List(ctx, metav1.ListOptions{}); err != nil {
		fail("service", err)
	} else {
		for _, o := range l.Items {
			add("service", o.Namespace, o.Name, o.ResourceVersion)
		}
	}
	if l, err := core.ServiceAccounts("").List(ctx, metav1.ListOptions{}); err != nil {
		fail("serviceaccount", err)
	} else {
		for _, o := range l.Items {
			add("serviceaccount", o.Namespace, o.Name, o.ResourceVersion)
		}
	}
	if l, err := apps.Deployments("").List(ctx, metav1.ListOptions{}); err != nil {
		fail("deployment", err)
	} else {
		for _, o := range l.Items {
			add("deployment", o.Namespace, o.Name, o.ResourceVersion)
		}
	}
	// Aggregated cluster roles are rewritten by a controller: names only.
	if l, err := c.Client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{}); err != nil {
		fail("clusterrole", err)
	} else {
		for _, o := range l.Items {
			add("clusterrole", "", o.Name, "")
		}
	}
	if l, err := c.Client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{}); err != nil {
		fail("clusterrolebinding", err)
	} else {
		for _, o := range l.Items {
			add("clusterrolebinding", "", o.Name, "")
		}
	}
	if l, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{}); err != nil {
		fail("mutatingwebhookconfiguration", err)
	} else {
		for _, o := range l.Items {
			add("mutatingwebhookconfiguration", "", o.Name, o.ResourceVersion)
		}
	}
	if l, err := c.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{}); err != nil {
		fail("validatingwebhookconfiguration", err)
	} else {
		for _, o := range l.Items {
			add("validatingwebhookconfiguration", "", o.Name, o.ResourceVersion)
		}
	}
	if l, err := dynamicFor(t, c).Resource(crdGVR).List(ctx, metav1.ListOptions{}); err != nil {
		fail("customresourcedefinition", err)
	} else {
		for _, o := range l.Items {
			add("customresourcedefinition", "", o.GetName(), o.GetResourceVersion())
		}
	}
	return out
}

// wantUntouched fails when the clusters' objects differ from before.
func wantUntouched(t *testing.T, w *localcluster.World, before []map[string]string) {
	t.Helper()
	for i, c := range w.Clusters {
		after := snapshot(t, c)
		var diffs []string
		for k, rv := range after {
			if old, ok := before[i][k]; !ok {
				diffs = append(diffs, "created "+k)
			} else if old != rv {
				diffs = append(diffs, "changed "+k)
			}
		}
		for k := range before[i] {
			if _, ok := after[k]; !ok {
				diffs = append(diffs, "deleted "+k)
			}
		}
		sort.Strings(diffs)
		if len(diffs) > 0 {
			t.Errorf("%s: a preview touched the cluster: %s", c.Name, strings.Join(diffs, "; "))
		}
	}
}

// snapshots takes a snapshot of every cluster of w.
func snapshots(t *testing.T, w *localcluster.World) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, c := range w.Clusters {
		out = append(out, snapshot(t, c))
	}
	return out
}

// clusterCA issues a root and an intermediate for cluster through the
// provider, for CACerts inputs.
func clusterCA(t *testing.T, s integration.Server, cluster string) (certPem, keyPem, rootPem, chainPem property.Value) {
	t.Helper()
	root := newResource(s, "RootCA", "root-"+cluster)
	root.create(t, root.check(t, map[string]property.Value{"keyType": str("ECDSA"), "validityHours": property.New(1000.0)}))
	ca := newResource(s, "ClusterCA", "ca-"+cluster)
	ca.create(t, ca.check(t, map[string]property.Value{
		"cluster":       str(cluster),
		"rootCertPem":   root.state.Get("certPem"),
		"rootKeyPem":    root.state.Get("keyPem"),
		"keyType":       str("ECDSA"),
		"validityHours": property.New(500.0),
	}))
	return ca.state.Get("certPem"), ca.state.Get("keyPem"), root.state.Get("certPem"), ca.state.Get("certChainPem")
}

// wantReplaceOnRename fails unless renaming the cluster in field replaces the resource.
func wantReplaceOnRename(t *testing.T, d p.DiffResponse, field string) {
	t.Helper()
	wantReplace(t, d)
	if d.DetailedDiff[field+".name"].Kind != p.UpdateReplace {
		t.Errorf("%s.name change: %v, want update&replace on %s.name", field, d.DetailedDiff, field)
	}
}
