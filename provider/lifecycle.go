package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// clusterResource is the lifecycle every resource that acts on one cluster
// shares (a remote secret's target; a mesh check's checked cluster, which it
// only reads); a controller gives only what is particular to it (the funcs below)
// and embeds it, so its Diff, Create, Update, Read and Delete are these.
// The rules it owns:
//   - preview (DryRun) writes nothing: a create previews what up will take
//     over (claims.previewClaims), an update returns the new inputs;
//   - an update whose changes are all quiet records them without touching
//     the cluster, one that only changes the mesh mark writes the mark alone;
//   - every operation, Read and Delete included, is bounded by the inputs'
//     timeoutSeconds;
//   - apply says whether it touched the cluster: a failure after a write
//     keeps the partial state (partial), one before keeps none;
//   - errors name their cluster once (wrapCluster), and a failed delete says
//     what to do when the cluster is gone (deleteHint).
//
// C is what the controller asks of the cluster: its own narrow client
// interface, so that tests can stand in for it.
type clusterResource[A clusterInputs, S, C any] struct {
	// connect reaches the cluster; w marks what the operation writes.
	connect func(ctx context.Context, c ClusterConnection, w writer) (C, error)
	// claims previews and marks what the resource takes over (Deps).
	claims claimer
	// takeover is what the resource writes, for previews and marks; prior
	// is the state before an update, nil on create.
	takeover func(in A, prior *S) takeover
	// drift says which outputs refresh found off (true), each an update
	// that repairs it.
	drift func(s S) map[string]bool
	// apply writes what the inputs describe over prior (nil on create) and
	// returns the state, whether it wrote anything, and an error.
	apply func(ctx context.Context, c C, w writer, in A, prior *S) (state S, touched bool, err error)
	// read refreshes s from the cluster.
	read func(ctx context.Context, c C, s S) (S, error)
	// remove deletes what w wrote.
	remove func(ctx context.Context, c C, w writer, s S) error

	// Optional, for resources that reach beyond their cluster (a remote
	// secret's source). rewrite says whether quiet inputs alone still
	// change what apply writes (a kubeconfig that reaches another server).
	rewrite func(prior S, in A) bool
	// mark writes a new mesh mark in place; nil marks takeover in the
	// cluster.
	mark func(ctx context.Context, w writer, s S) error
	// preview says what up will do beyond what it takes over, and gives
	// the state it plans; prior is nil on create.
	preview func(ctx context.Context, in A, prior *S) S
}

// argsOf is the inputs state s was made from: the A it embeds, as every
// state embeds its inputs.
func argsOf[A, S any](s S) A {
	return embedded[A](reflect.ValueOf(&s).Elem()).Interface().(A)
}

// withArgs is s holding inputs in, and otherwise as it was.
func withArgs[S, A any](s S, in A) S {
	embedded[A](reflect.ValueOf(&s).Elem()).Set(reflect.ValueOf(in))
	return s
}

// embedded is the field of struct v that embeds an A.
func embedded[A any](v reflect.Value) reflect.Value {
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.Anonymous && f.Type == reflect.TypeFor[A]() {
			return v.Field(i)
		}
	}
	panic(fmt.Sprintf("%s embeds no %s", v.Type(), reflect.TypeFor[A]()))
}

// clusterInputs are the inputs of a resource that writes to one cluster.
type clusterInputs interface {
	meshMarked
	// target says where the inputs act and how long each operation may take.
	target() clusterTarget
}

// clusterTarget is where a resource's inputs act.
type clusterTarget struct {
	cluster        ClusterConnection
	timeoutSeconds *int
	adopt          *bool // nil for resources that never adopt
}

// claimer previews and marks what a resource takes over in a cluster; Deps
// does it against the cluster.
type claimer interface {
	previewClaims(ctx context.Context, c ClusterConnection, adopt *bool, w writer, t takeover) error
	markOwned(ctx context.Context, c ClusterConnection, w writer, t takeover) error
}

var _ claimer = Deps{}

// nothingClaimed is the claimer of a resource that writes nothing.
type nothingClaimed struct{}

func (nothingClaimed) previewClaims(context.Context, ClusterConnection, *bool, writer, takeover) error {
	return nil
}

func (nothingClaimed) markOwned(context.Context, ClusterConnection, writer, takeover) error {
	return nil
}

// connectKube reaches a cluster's API server, as C: the controller's own
// interface, which *kube.Client implements (clients.go asserts it).
func connectKube[C any](d Deps) func(context.Context, ClusterConnection, writer) (C, error) {
	return func(_ context.Context, c ClusterConnection, _ writer) (C, error) {
		client, err := d.kubeClient(c)
		if err != nil {
			var none C
			return none, err
		}
		return any(client).(C), nil
	}
}

// kubeHelm are a cluster's API server, as K, and its istio-system Helm.
type kubeHelm[K any] struct {
	kube K
	helm releaseClient
}

// connectKubeHelm reaches a cluster's API server (as K, see connectKube)
// and its Helm, whose releases w marks.
func connectKubeHelm[K any](d Deps) func(context.Context, ClusterConnection, writer) (kubeHelm[K], error) {
	kubeOf, helmOf := connectKube[K](d), connectHelm(d)
	return func(ctx context.Context, c ClusterConnection, w writer) (kubeHelm[K], error) {
		k, err := kubeOf(ctx, c, w)
		if err != nil {
			return kubeHelm[K]{}, err
		}
		h, err := helmOf(ctx, c, w)
		if err != nil {
			return kubeHelm[K]{}, err
		}
		return kubeHelm[K]{k, h}, nil
	}
}

// connectHelm reaches a cluster's istio-system Helm, whose releases w marks.
func connectHelm(d Deps) func(context.Context, ClusterConnection, writer) (releaseClient, error) {
	return func(ctx context.Context, c ClusterConnection, w writer) (releaseClient, error) {
		h, err := d.helmClient(ctx, c, w)
		if err != nil {
			return nil, err
		}
		return helmReleases{h}, nil
	}
}

// Create applies the inputs under a new ID, or previews what up will take over.
func (l clusterResource[A, S, C]) Create(ctx context.Context, req infer.CreateRequest[A]) (infer.CreateResponse[S], error) {
	id := newID(req.Name)
	in := req.Inputs
	t := in.target()
	w := writerOf(in, id, false)
	ctx, cancel := withTimeout(ctx, t.timeoutSeconds)
	defer cancel()
	if req.DryRun {
		var none S
		if err := l.claims.previewClaims(ctx, t.cluster, t.adopt, w, l.takeover(in, nil)); err != nil {
			return infer.CreateResponse[S]{}, err
		}
		planned := withArgs(none, in)
		if l.preview != nil {
			planned = l.preview(ctx, in, nil)
		}
		return infer.CreateResponse[S]{ID: id, Output: planned}, nil
	}
	state, touched, err := l.run(ctx, t.cluster, w, in, nil)
	if err != nil && !touched {
		return infer.CreateResponse[S]{}, err
	}
	return infer.CreateResponse[S]{ID: id, Output: state}, partial(err)
}

// Update applies new inputs in place: previews and quiet changes touch
// nothing, a new mark is written alone.
func (l clusterResource[A, S, C]) Update(ctx context.Context, req infer.UpdateRequest[A, S]) (infer.UpdateResponse[S], error) {
	in := req.Inputs
	recorded := withArgs(req.State, in)
	changes := l.changes(req.State, in)
	inPlace := l.rewrite == nil || !l.rewrite(req.State, in)
	quiet, marking := inPlace && quietOnly(changes, in), inPlace && markOnly(changes, in)
	t := in.target()
	ctx, cancel := withTimeout(ctx, t.timeoutSeconds)
	defer cancel()
	if req.DryRun && !quiet && !marking && l.preview != nil {
		recorded = l.preview(ctx, in, &req.State)
	}
	if req.DryRun || quiet {
		return infer.UpdateResponse[S]{Output: recorded}, nil
	}
	w := writerOf(in, req.ID, true)
	if marking && l.mark != nil {
		return infer.UpdateResponse[S]{Output: recorded}, ofCluster(t.cluster.Name, l.mark(ctx, w, recorded))
	}
	if marking {
		return infer.UpdateResponse[S]{Output: recorded}, wrapCluster(t.cluster.Name, l.claims.markOwned(ctx, t.cluster, w, l.takeover(in, &req.State)))
	}
	state, touched, err := l.run(ctx, t.cluster, w, in, &req.State)
	if err != nil && !touched {
		return infer.UpdateResponse[S]{}, err
	}
	return infer.UpdateResponse[S]{Output: state}, partial(err)
}

// Diff updates in place for new inputs and for drift; a changed input
// tagged replaceOnChanges replaces.
func (l clusterResource[A, S, C]) Diff(_ context.Context, req infer.DiffRequest[A, S]) (infer.DiffResponse, error) {
	return diffResponse(l.changes(req.State, req.Inputs)), nil
}

// changes lists what differs between the state and new inputs, drift
// included.
func (l clusterResource[A, S, C]) changes(s S, in A) map[string]p.PropertyDiff {
	diff := diffInputs(argsOf[A](s), in)
	for field, off := range l.drift(s) {
		if off {
			diff[field] = p.PropertyDiff{Kind: p.Update}
		}
	}
	return diff
}

// run connects and applies; a failure to connect touches nothing.
func (l clusterResource[A, S, C]) run(ctx context.Context, cluster ClusterConnection, w writer, in A, prior *S) (S, bool, error) {
	c, err := l.connect(ctx, cluster, w)
	if err != nil {
		var none S
		return none, false, ofCluster(cluster.Name, err)
	}
	state, touched, err := l.apply(ctx, c, w, in, prior)
	return state, touched, ofCluster(cluster.Name, err)
}

// Read refreshes the state from the cluster.
func (l clusterResource[A, S, C]) Read(ctx context.Context, req infer.ReadRequest[A, S]) (infer.ReadResponse[A, S], error) {
	t := argsOf[A](req.State).target()
	ctx, cancel := withTimeout(ctx, t.timeoutSeconds)
	defer cancel()
	c, err := l.connect(ctx, t.cluster, writerOf(argsOf[A](req.State), req.ID, true))
	if err != nil {
		return infer.ReadResponse[A, S]{}, ofCluster(t.cluster.Name, err)
	}
	state, err := l.read(ctx, c, req.State)
	if err != nil {
		return infer.ReadResponse[A, S]{}, ofCluster(t.cluster.Name, err)
	}
	return infer.ReadResponse[A, S]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete removes what the resource wrote.
func (l clusterResource[A, S, C]) Delete(ctx context.Context, req infer.DeleteRequest[S]) (infer.DeleteResponse, error) {
	in := argsOf[A](req.State)
	t := in.target()
	ctx, cancel := withTimeout(ctx, t.timeoutSeconds)
	defer cancel()
	w := writerOf(in, req.ID, true)
	c, err := l.connect(ctx, t.cluster, w)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(t.cluster.Name, err)
	}
	if err := l.remove(ctx, c, w, req.State); err != nil {
		return infer.DeleteResponse{}, deleteHint(t.cluster.Name, err)
	}
	return infer.DeleteResponse{}, nil
}

// ofCluster names cluster in err, unless err already names the cluster it
// is of: one that reaches two clusters (a remote secret's source) names
// the one that failed.
func ofCluster(cluster string, err error) error {
	if ce := (*clusterError)(nil); errors.As(err, &ce) {
		return err
	}
	return wrapCluster(cluster, err)
}
