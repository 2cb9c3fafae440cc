package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/sample"
)

var (
	_ infer.CustomResource[HelloWorldArgs, HelloWorldState] = (*HelloWorld)(nil)
	_ infer.CustomCheck[HelloWorldArgs]                     = (*HelloWorld)(nil)
	_ infer.CustomDiff[HelloWorldArgs, HelloWorldState]     = (*HelloWorld)(nil)
	_ infer.CustomUpdate[HelloWorldArgs, HelloWorldState]   = (*HelloWorld)(nil)
	_ infer.CustomRead[HelloWorldArgs, HelloWorldState]     = (*HelloWorld)(nil)
	_ infer.CustomDelete[HelloWorldState]                   = (*HelloWorld)(nil)
)

// Check validates the connection and version.
func (r *HelloWorld) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[HelloWorldArgs], error) {
	return checkInputs(ctx, req, func(args HelloWorldArgs, old *HelloWorldArgs) (failures []p.CheckFailure) {
		failures = checkConnection("cluster", req.NewInputs, args.Cluster)
		if !sample.ValidVersion(args.SampleVersion) {
			failures = append(failures, p.CheckFailure{Property: "sampleVersion", Reason: fmt.Sprintf("cluster %q: sampleVersion must be v1 or v2, got %q", args.Cluster.Name, args.SampleVersion)})
		}
		return failures
	})
}

// helloWorldClient is what the sample asks of its cluster.
type helloWorldClient interface {
	namespaceClient
	WaitForDeployment(ctx context.Context, ns, name string, progress kube.Progress) error
}

// newHelloWorld builds the resource; its Diff replaces the sample when its
// cluster or namespace changes and repairs missing objects.
func newHelloWorld(deps Deps) *HelloWorld {
	return &HelloWorld{deps: deps, clusterResource: clusterResource[HelloWorldArgs, HelloWorldState, helloWorldClient]{
		connect: connectKube[helloWorldClient](deps), claims: deps,
		takeover: func(in HelloWorldArgs, _ *HelloWorldState) takeover { return helloWorldTakeover(in) },
		drift:    func(s HelloWorldState) map[string]bool { return map[string]bool{"present": !s.Present} },
		apply:    applyHelloWorld, read: readHelloWorld, remove: removeHelloWorld,
	}}
}

// helloWorldTakeover is what the sample writes.
func helloWorldTakeover(in HelloWorldArgs) takeover {
	var t takeover
	for _, obj := range sample.Objects(deref(in.Namespace), in.SampleVersion) {
		t.objects = append(t.objects, objectRef{obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName()})
	}
	return t
}

// applyHelloWorld writes the sample; it has touched the cluster once the
// namespace is ensured.
func applyHelloWorld(ctx context.Context, client helloWorldClient, w writer, in HelloWorldArgs, _ *HelloWorldState) (HelloWorldState, bool, error) {
	state := HelloWorldState{HelloWorldArgs: in}
	name, ns := in.Cluster.Name, deref(in.Namespace)
	// Nothing is written, the namespace's labels included, before every
	// object is known to be this mesh's (or taken over).
	for _, ref := range helloWorldTakeover(in).objects {
		if err := claim(ctx, client, w, ref, deref(in.Adopt)); err != nil {
			return state, false, err
		}
	}
	labels, objects := sample.NamespaceLabels(deref(in.Revision)), sample.Objects(ns, in.SampleVersion)
	if isAmbient(in.Dataplane) {
		labels = sample.AmbientNamespaceLabels(deref(in.Revision))
		sample.MarkGlobal(objects)
	}
	if err := client.EnsureNamespace(ctx, ns, labels); err != nil {
		return state, false, err
	}
	p.GetLogger(ctx).InfoStatusf("%s: deploying helloworld-%s and curl in %s", name, in.SampleVersion, ns)
	for _, obj := range objects {
		if rev := deref(in.ProxyRevision); rev != "" && obj.GetKind() == "Deployment" {
			if err := unstructured.SetNestedField(obj.Object, rev, "spec", "template", "metadata", "annotations", naming.ProxyRevisionAnnotation); err != nil {
				return state, true, err
			}
		}
		if err := applyMarked(ctx, client, w, obj); err != nil {
			return state, true, fmt.Errorf("applying %s %s/%s: %w", obj.GetKind(), ns, obj.GetName(), err)
		}
	}
	if deref(in.Wait) {
		for _, d := range sample.DeploymentNames(in.SampleVersion) {
			if err := client.WaitForDeployment(ctx, ns, d, progress(ctx, name)); err != nil {
				return state, true, err
			}
		}
	}
	state.Present = true
	return state, true, nil
}

// readHelloWorld notices sample objects removed by hand.
func readHelloWorld(ctx context.Context, client helloWorldClient, state HelloWorldState) (HelloWorldState, error) {
	state.Present = true
	for _, obj := range sample.Objects(deref(state.Namespace), state.SampleVersion) {
		live, err := client.Get(ctx, obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())
		if err != nil {
			return state, fmt.Errorf("reading %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
		state.Present = state.Present && live != nil
	}
	return state, nil
}

// removeHelloWorld removes the sample's objects, and the namespace when
// ristio created it and nothing else lives there.
func removeHelloWorld(ctx context.Context, client helloWorldClient, w writer, s HelloWorldState) error {
	objs := sample.Objects(deref(s.Namespace), s.SampleVersion)
	for i := len(objs) - 1; i >= 0; i-- {
		if err := deleteManaged(ctx, client, w, objs[i].GroupVersionKind(), objs[i].GetNamespace(), objs[i].GetName()); err != nil {
			return err
		}
	}
	inUse := func() (string, error) {
		// Objects that survived belong to another writer (a replacement, or a
		// renamed cluster's new sample): the namespace is theirs now.
		for _, obj := range objs {
			live, err := client.Get(ctx, obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())
			if err != nil || live != nil {
				return obj.GetKind() + " " + obj.GetName(), err
			}
		}
		return "", nil
	}
	return deleteNamespaceIfOurs(ctx, client, s.Cluster.Name, deref(s.Namespace), inUse)
}
