package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/sample"
)

// These tests drive the lifecycle every cluster resource shares through
// in-memory clients: no cluster runs.

// fakeCluster is an in-memory cluster: objects by kind, namespace and name.
// failOn makes the named call fail; block makes every call wait for its
// context to end.
type fakeCluster struct {
	objects map[string]*unstructured.Unstructured
	writes  int
	failOn  string
	block   bool
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{objects: map[string]*unstructured.Unstructured{}}
}

var errFake = errors.New("the fake cluster refuses")

func fakeKey(gvk schema.GroupVersionKind, ns, name string) string {
	return gvk.String() + "/" + ns + "/" + name
}

func (f *fakeCluster) call(ctx context.Context, name string) error {
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.failOn == name {
		return errFake
	}
	return nil
}

func (f *fakeCluster) Get(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	if err := f.call(ctx, "Get"); err != nil {
		return nil, err
	}
	if obj, ok := f.objects[fakeKey(gvk, ns, name)]; ok {
		return obj.DeepCopy(), nil
	}
	return nil, nil
}

func (f *fakeCluster) Apply(ctx context.Context, obj *unstructured.Unstructured) error {
	if err := f.call(ctx, "Apply"); err != nil {
		return err
	}
	f.writes++
	f.objects[fakeKey(obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())] = obj.DeepCopy()
	return nil
}

func (f *fakeCluster) Annotate(ctx context.Context, gvk schema.GroupVersionKind, ns, name string, annotations map[string]string) error {
	if err := f.call(ctx, "Annotate"); err != nil {
		return err
	}
	f.writes++
	obj := f.objects[fakeKey(gvk, ns, name)]
	merged := obj.GetAnnotations()
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range annotations {
		merged[k] = v
	}
	obj.SetAnnotations(merged)
	return nil
}

func (f *fakeCluster) Delete(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) error {
	if err := f.call(ctx, "Delete"); err != nil {
		return err
	}
	f.writes++
	delete(f.objects, fakeKey(gvk, ns, name))
	return nil
}

func (f *fakeCluster) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	if err := f.call(ctx, "EnsureNamespace"); err != nil {
		return err
	}
	f.writes++
	key := fakeKey(namespaceGVK, "", name)
	ns, ok := f.objects[key]
	if !ok { // what ristio creates carries its managed-by label, as kube.Client's does
		ns = &unstructured.Unstructured{}
		ns.SetGroupVersionKind(namespaceGVK)
		ns.SetName(name)
		ns.SetLabels(map[string]string{naming.ManagedByLabel: naming.ManagedByValue})
		f.objects[key] = ns
	}
	merged := ns.GetLabels()
	for k, v := range labels {
		merged[k] = v
	}
	ns.SetLabels(merged)
	return nil
}

func (f *fakeCluster) DeleteNamespace(ctx context.Context, name string, _ kube.Progress) error {
	return f.Delete(ctx, namespaceGVK, "", name)
}

func (f *fakeCluster) ForeignObjects(ctx context.Context, _ string) ([]string, error) {
	return nil, f.call(ctx, "ForeignObjects")
}

func (f *fakeCluster) WaitForDeployment(ctx context.Context, _, _ string, _ kube.Progress) error {
	return f.call(ctx, "WaitForDeployment")
}

// fakeClaims records what the lifecycle previews and marks.
type fakeClaims struct{ previews, marks int }

func (c *fakeClaims) previewClaims(context.Context, ClusterConnection, *bool, writer, takeover) error {
	c.previews++
	return nil
}

func (c *fakeClaims) markOwned(context.Context, ClusterConnection, writer, takeover) error {
	c.marks++
	return nil
}

// fakeHelloWorld is a HelloWorld lifecycle over cluster, counting connects.
func fakeHelloWorld(cluster *fakeCluster) (clusterResource[HelloWorldArgs, HelloWorldState, helloWorldClient], *fakeClaims, *int) {
	claims, connects := &fakeClaims{}, new(int)
	hw := newHelloWorld(Deps{}).clusterResource
	hw.claims = claims
	hw.connect = func(context.Context, ClusterConnection, writer) (helloWorldClient, error) {
		*connects++
		return cluster, nil
	}
	return hw, claims, connects
}

func helloWorldInputs() HelloWorldArgs {
	return HelloWorldArgs{
		Cluster: ClusterConnection{Name: "east"}, SampleVersion: "v1",
		Namespace: ptr.To("sample"), Wait: ptr.To(true), TimeoutSeconds: ptr.To(1),
	}
}

func TestLifecyclePreviewTouchesNothing(t *testing.T) {
	cluster := newFakeCluster()
	hw, claims, connects := fakeHelloWorld(cluster)
	ctx := context.Background()
	created, err := hw.Create(ctx, infer.CreateRequest[HelloWorldArgs]{Name: "hw", Inputs: helloWorldInputs(), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if *connects != 0 || cluster.writes != 0 || claims.previews != 1 {
		t.Errorf("a create preview connected %d times, wrote %d times, previewed claims %d times; want 0, 0, 1", *connects, cluster.writes, claims.previews)
	}
	if created.Output.SampleVersion != "v1" || !strings.HasPrefix(created.ID, "hw-") {
		t.Errorf("a create preview returned ID %q and inputs %+v; want a new ID and the inputs", created.ID, created.Output.HelloWorldArgs)
	}
	next := helloWorldInputs()
	next.ProxyRevision = ptr.To("canary")
	updated, err := hw.Update(ctx, infer.UpdateRequest[HelloWorldArgs, HelloWorldState]{ID: created.ID, State: HelloWorldState{HelloWorldArgs: helloWorldInputs(), Present: true}, Inputs: next, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if *connects != 0 || cluster.writes != 0 || deref(updated.Output.ProxyRevision) != "canary" {
		t.Errorf("an update preview connected %d times, wrote %d times and recorded proxyRevision %q; want 0, 0, canary", *connects, cluster.writes, deref(updated.Output.ProxyRevision))
	}
}

func TestLifecycleQuietAndMarkOnlyUpdates(t *testing.T) {
	ctx := context.Background()
	old := HelloWorldState{HelloWorldArgs: helloWorldInputs(), Present: true}
	for name, tc := range map[string]struct {
		edit      func(*HelloWorldArgs)
		wantMarks int
	}{
		"a new kubeconfig and timeout are recorded without touching the cluster": {
			edit: func(in *HelloWorldArgs) { in.Cluster.Kubeconfig, in.TimeoutSeconds = ptr.To("rotated"), ptr.To(30) },
		},
		"a new mesh mark is written alone": {
			edit: func(in *HelloWorldArgs) { in.MeshIdentity = ptr.To("org/stack/mesh") }, wantMarks: 1,
		},
	} {
		t.Run(name, func(t *testing.T) {
			cluster := newFakeCluster()
			hw, claims, connects := fakeHelloWorld(cluster)
			in := helloWorldInputs()
			tc.edit(&in)
			got, err := hw.Update(ctx, infer.UpdateRequest[HelloWorldArgs, HelloWorldState]{ID: "hw-1", State: old, Inputs: in})
			if err != nil {
				t.Fatal(err)
			}
			if *connects != 0 || cluster.writes != 0 || claims.marks != tc.wantMarks {
				t.Errorf("connected %d times, wrote %d times, marked %d times; want 0, 0, %d", *connects, cluster.writes, claims.marks, tc.wantMarks)
			}
			if got.Output.TimeoutSeconds != in.TimeoutSeconds || !got.Output.Present {
				t.Errorf("recorded %+v, want the new inputs and the old present", got.Output)
			}
		})
	}
}

func TestLifecyclePartialState(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		failOn      string
		wantPartial bool
	}{
		"a failure before any write keeps no state":    {failOn: "Get"},
		"a failed namespace keeps no state":            {failOn: "EnsureNamespace"},
		"a failure after a write keeps partial state":  {failOn: "Apply", wantPartial: true},
		"a wait that fails keeps what was written too": {failOn: "WaitForDeployment", wantPartial: true},
	} {
		t.Run(name, func(t *testing.T) {
			cluster := newFakeCluster()
			cluster.failOn = tc.failOn
			hw, _, _ := fakeHelloWorld(cluster)
			got, err := hw.Create(ctx, infer.CreateRequest[HelloWorldArgs]{Name: "hw", Inputs: helloWorldInputs()})
			var initFailed infer.ResourceInitFailedError
			partial := errors.As(err, &initFailed)
			reason := fmt.Sprint(err)
			if partial {
				reason = strings.Join(initFailed.Reasons, "; ")
			}
			if !strings.HasPrefix(reason, "cluster east: ") || !strings.HasSuffix(reason, errFake.Error()) || strings.Count(reason, "cluster east") != 1 {
				t.Fatalf("err = %q, want the fake's error naming cluster east once", reason)
			}
			if partial != tc.wantPartial || (got.ID != "") != tc.wantPartial {
				t.Errorf("partial state %v with ID %q, want partial %v", partial, got.ID, tc.wantPartial)
			}
			if tc.wantPartial && got.Output.Present {
				t.Errorf("a partial sample is recorded present")
			}
			// The same rule on update: untouched keeps the old state.
			upd, err := hw.Update(ctx, infer.UpdateRequest[HelloWorldArgs, HelloWorldState]{ID: "hw-1", State: HelloWorldState{HelloWorldArgs: helloWorldInputs()}, Inputs: helloWorldInputs()})
			if partial := errors.As(err, &initFailed); partial != tc.wantPartial || (upd.Output.Cluster.Name != "") != tc.wantPartial {
				t.Errorf("update: partial %v with state %+v, want partial %v", partial, upd.Output, tc.wantPartial)
			}
		})
	}
}

func TestLifecycleCreateReadDelete(t *testing.T) {
	ctx := context.Background()
	cluster := newFakeCluster()
	hw, _, _ := fakeHelloWorld(cluster)
	created, err := hw.Create(ctx, infer.CreateRequest[HelloWorldArgs]{Name: "hw", Inputs: helloWorldInputs()})
	if err != nil || !created.Output.Present {
		t.Fatalf("create: %v, present %v", err, created.Output.Present)
	}
	if got, want := len(cluster.objects), 1+len(sample.Objects("sample", "v1")); got != want {
		t.Errorf("create left %d objects, want the namespace and the sample's (%d)", got, want)
	}
	for key := range cluster.objects {
		if strings.HasPrefix(key, "/v1, Kind=Service") || strings.Contains(key, "Kind=Deployment") {
			if owner := cluster.objects[key].GetAnnotations()[naming.OwnerAnnotation]; owner != created.ID {
				t.Errorf("%s is marked owner %q, want %q", key, owner, created.ID)
			}
		}
	}
	for key := range cluster.objects {
		if strings.Contains(key, "Kind=Deployment") {
			delete(cluster.objects, key)
			break
		}
	}
	read, err := hw.Read(ctx, infer.ReadRequest[HelloWorldArgs, HelloWorldState]{ID: created.ID, Inputs: created.Output.HelloWorldArgs, State: created.Output})
	if err != nil || read.State.Present {
		t.Errorf("read after a Deployment was removed by hand: %v, present %v; want present false", err, read.State.Present)
	}
	if _, err := hw.Delete(ctx, infer.DeleteRequest[HelloWorldState]{ID: created.ID, State: created.Output}); err != nil {
		t.Fatal(err)
	}
	if len(cluster.objects) != 0 {
		t.Errorf("delete left %d objects, want none (the namespace is ristio's and empty)", len(cluster.objects))
	}
}

func TestLifecycleReadAndDeleteHonourTheTimeout(t *testing.T) {
	cluster := newFakeCluster()
	cluster.block = true
	hw, _, _ := fakeHelloWorld(cluster)
	state := HelloWorldState{HelloWorldArgs: helloWorldInputs()} // timeoutSeconds 1
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"read": func() error {
			_, err := hw.Read(ctx, infer.ReadRequest[HelloWorldArgs, HelloWorldState]{ID: "hw-1", Inputs: state.HelloWorldArgs, State: state})
			return err
		},
		"delete": func() error {
			_, err := hw.Delete(ctx, infer.DeleteRequest[HelloWorldState]{ID: "hw-1", State: state})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := call()
			if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "cluster east: ") {
				t.Errorf("err = %v, want the deadline, naming cluster east", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("%s returned after %s, want about timeoutSeconds (1s)", name, took)
			}
		})
	}
}
