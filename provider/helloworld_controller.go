package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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

// Diff replaces the sample when its cluster or namespace changes and repairs missing objects.
func (r *HelloWorld) Diff(_ context.Context, req infer.DiffRequest[HelloWorldArgs, HelloWorldState]) (infer.DiffResponse, error) {
	diff := r.changes(req.State, req.Inputs)
	return diffResponse(diff), nil
}

// changes lists what differs between the state and new inputs, drift included.
func (r *HelloWorld) changes(state HelloWorldState, inputs HelloWorldArgs) map[string]p.PropertyDiff {
	diff := diffInputs(state.HelloWorldArgs, inputs)
	if !state.Present {
		diff["present"] = p.PropertyDiff{Kind: p.Update}
	}
	return diff
}

// Create deploys the sample.
func (r *HelloWorld) Create(ctx context.Context, req infer.CreateRequest[HelloWorldArgs]) (infer.CreateResponse[HelloWorldState], error) {
	id := newID(req.Name)
	state := HelloWorldState{HelloWorldArgs: req.Inputs}
	if req.DryRun {
		if err := r.deps.previewClaims(ctx, req.Inputs.Cluster, req.Inputs.Adopt, writerOf(req.Inputs, id, false), helloWorldTakeover(req.Inputs)); err != nil {
			return infer.CreateResponse[HelloWorldState]{}, err
		}
		return infer.CreateResponse[HelloWorldState]{ID: id, Output: state}, nil
	}
	created, err := r.apply(ctx, writerOf(req.Inputs, id, false), req.Inputs)
	state.CreatedNamespace, state.Present = created, err == nil
	if err != nil && !created {
		return infer.CreateResponse[HelloWorldState]{}, err
	}
	return infer.CreateResponse[HelloWorldState]{ID: id, Output: state}, partial(err)
}

// Update reapplies the sample.
func (r *HelloWorld) Update(ctx context.Context, req infer.UpdateRequest[HelloWorldArgs, HelloWorldState]) (infer.UpdateResponse[HelloWorldState], error) {
	state := req.State
	state.HelloWorldArgs = req.Inputs
	// Previews, and changes to how the cluster is reached or how long to wait,
	// touch nothing.
	changes := r.changes(req.State, req.Inputs)
	if req.DryRun || quietOnly(changes, req.Inputs) {
		return infer.UpdateResponse[HelloWorldState]{Output: state}, nil
	}
	w := writerOf(req.Inputs, req.ID, true)
	if markOnly(changes, req.Inputs) {
		ctx, cancel := withTimeout(ctx, req.Inputs.TimeoutSeconds)
		defer cancel()
		return infer.UpdateResponse[HelloWorldState]{Output: state}, r.deps.markOwned(ctx, req.Inputs.Cluster, w, helloWorldTakeover(req.Inputs))
	}
	created, err := r.apply(ctx, w, req.Inputs)
	state.CreatedNamespace, state.Present = state.CreatedNamespace || created, err == nil
	return infer.UpdateResponse[HelloWorldState]{Output: state}, partial(err)
}

// helloWorldTakeover is what the sample writes.
func helloWorldTakeover(in HelloWorldArgs) takeover {
	var t takeover
	for _, obj := range sample.Objects(deref(in.Namespace), in.SampleVersion) {
		t.objects = append(t.objects, objectRef{obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName()})
	}
	return t
}

func (r *HelloWorld) apply(ctx context.Context, w writer, in HelloWorldArgs) (createdNamespace bool, err error) {
	ctx, cancel := withTimeout(ctx, in.TimeoutSeconds)
	defer cancel()
	name, ns := in.Cluster.Name, deref(in.Namespace)
	client, err := r.deps.kubeClient(in.Cluster)
	if err != nil {
		return false, err
	}
	existing, err := client.Get(ctx, namespaceGVK, "", ns)
	if err != nil {
		return false, wrapCluster(name, fmt.Errorf("reading namespace %s: %w", ns, err))
	}
	// Nothing is written, the namespace's labels included, before every
	// object is known to be this mesh's (or taken over).
	for _, ref := range helloWorldTakeover(in).objects {
		if err := claim(ctx, client, w, ref, deref(in.Adopt)); err != nil {
			return false, wrapCluster(name, err)
		}
	}
	if err := client.EnsureNamespace(ctx, ns, sample.NamespaceLabels(deref(in.Revision))); err != nil {
		return false, wrapCluster(name, err)
	}
	p.GetLogger(ctx).InfoStatusf("%s: deploying helloworld-%s and curl in %s", name, in.SampleVersion, ns)
	for _, obj := range sample.Objects(ns, in.SampleVersion) {
		if rev := deref(in.ProxyRevision); rev != "" && obj.GetKind() == "Deployment" {
			if err := unstructured.SetNestedField(obj.Object, rev, "spec", "template", "metadata", "annotations", naming.ProxyRevisionAnnotation); err != nil {
				return existing == nil, err
			}
		}
		if err := applyMarked(ctx, client, w, obj); err != nil {
			return existing == nil, wrapCluster(name, fmt.Errorf("applying %s %s/%s: %w", obj.GetKind(), ns, obj.GetName(), err))
		}
	}
	if deref(in.Wait) {
		for _, d := range sample.DeploymentNames(in.SampleVersion) {
			if err := client.WaitForDeployment(ctx, ns, d, progress(ctx, name)); err != nil {
				return existing == nil, wrapCluster(name, err)
			}
		}
	}
	return existing == nil, nil
}

// Read notices sample objects removed by hand.
func (r *HelloWorld) Read(ctx context.Context, req infer.ReadRequest[HelloWorldArgs, HelloWorldState]) (infer.ReadResponse[HelloWorldArgs, HelloWorldState], error) {
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds) // refresh is bounded like the writes
	defer cancel()
	state := req.State
	client, err := r.deps.kubeClient(state.Cluster)
	if err != nil {
		return infer.ReadResponse[HelloWorldArgs, HelloWorldState]{}, err
	}
	state.Present = true
	for _, obj := range sample.Objects(deref(state.Namespace), state.SampleVersion) {
		live, err := client.Get(ctx, obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())
		if err != nil {
			return infer.ReadResponse[HelloWorldArgs, HelloWorldState]{}, wrapCluster(state.Cluster.Name, fmt.Errorf("reading %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err))
		}
		state.Present = state.Present && live != nil
	}
	return infer.ReadResponse[HelloWorldArgs, HelloWorldState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete removes the sample's objects, and the namespace when ristio created it.
func (r *HelloWorld) Delete(ctx context.Context, req infer.DeleteRequest[HelloWorldState]) (infer.DeleteResponse, error) {
	s := req.State
	ctx, cancel := withTimeout(ctx, s.TimeoutSeconds)
	defer cancel()
	client, err := r.deps.kubeClient(s.Cluster)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(s.Cluster.Name, err)
	}
	objs := sample.Objects(deref(s.Namespace), s.SampleVersion)
	w := writerOf(s, req.ID, true)
	for i := len(objs) - 1; i >= 0; i-- {
		if err := deleteManaged(ctx, client, w, objs[i].GroupVersionKind(), objs[i].GetNamespace(), objs[i].GetName()); err != nil {
			return infer.DeleteResponse{}, deleteHint(s.Cluster.Name, err)
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
	if err := deleteNamespaceIfOurs(ctx, client, s.Cluster.Name, deref(s.Namespace), inUse); err != nil {
		return infer.DeleteResponse{}, deleteHint(s.Cluster.Name, err)
	}
	return infer.DeleteResponse{}, nil
}
