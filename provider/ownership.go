package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// Ownership: every object and Helm release ristio writes carries three
// marks: the managed-by label (ristio made it), the owner (the ID of the
// resource that wrote it last) and the mesh (the MeshIdentity of the mesh
// that resource belongs to). This file is the one place that reads them.

// MeshMark is the input of every resource that writes to a cluster: the mesh
// it writes for.
type MeshMark struct {
	MeshIdentity *string `pulumi:"meshIdentity,optional" diff:"mark"`
}

// Annotate documents MeshMark.
func (m *MeshMark) Annotate(a infer.Annotator) {
	a.Describe(&m.MeshIdentity, "The mesh this resource writes for, <project>/<stack>/<name>; MultiClusterMesh sets it. Every object and Helm release the resource writes carries it (ristio.io/mesh), and one marked by another mesh is foreign: refused unless adopt is set, never deleted. Without it, what the resource writes is recognised by the resource's own ID. A change of this alone marks what the resource owns in place: no object is rewritten, no Helm release upgraded.")
}

func (m MeshMark) mesh() naming.MeshIdentity { return naming.MeshIdentity(deref(m.MeshIdentity)) }

// meshMarked is every input type that embeds MeshMark.
type meshMarked interface{ mesh() naming.MeshIdentity }

func checkMeshMark(m meshMarked) []p.CheckFailure {
	if id := m.mesh(); id != "" {
		if err := id.Validate(); err != nil {
			return []p.CheckFailure{{Property: "meshIdentity", Reason: err.Error()}}
		}
	}
	return nil
}

// writer is the resource about to write to (or delete from) a cluster.
type writer struct {
	mesh  naming.MeshIdentity // "" for a resource used on its own
	owner string              // the resource's ID; "" on delete means any writer of the mesh
	// inState: the resource is in its stack's state (an update), so what it
	// manages and finds without a mesh mark was written by it before
	// objects carried their mesh.
	inState bool
}

// writerOf is the writer of the resource with ID id and mesh input m;
// inState for an update or a delete.
func writerOf(m meshMarked, id string, inState bool) writer {
	return writer{mesh: m.mesh(), owner: id, inState: inState}
}

// marks are ristio's marks found on an object or release, in the form they
// are stored in (a release holds label values).
type marks struct {
	managed     bool
	mesh, owner string
}

// ownership is what an existing object or release is to a writer.
type ownership int

const (
	// notRistios: ristio did not make it (istioctl's, a user's).
	notRistios ownership = iota
	// otherMesh: another mesh's ristio wrote it.
	otherMesh
	// otherStack: ristio wrote it before objects carried their mesh, and
	// not this writer: another stack's, as far as anyone can tell.
	otherStack
	// oursUnmarked: this writer wrote it before objects carried their mesh;
	// it gets the mark.
	oursUnmarked
	// ours: it carries this writer's mesh (or, for a resource used on its
	// own, no mesh).
	ours
)

// decideOwnership says what m is to a writer of mesh and owner, both in the
// form m holds. It is pure.
func decideOwnership(m marks, mesh, owner string, inState bool) ownership {
	switch {
	case !m.managed:
		return notRistios
	case m.mesh == mesh:
		return ours
	case m.mesh != "":
		return otherMesh
	case inState || (owner != "" && m.owner == owner):
		// Written before objects carried their mesh, by this writer.
		return oursUnmarked
	}
	return otherStack
}

// deletable says whether a writer of mesh and owner may delete what carries
// m: ristio made it, no other mesh marked it, and owner wrote it last (""
// on either side matches any writer). An unmarked object is deletable by
// its owner: a state written before objects carried their mesh, or a
// binding that state names. It is pure.
func deletable(m marks, mesh, owner string) bool {
	return m.managed && (m.mesh == "" || m.mesh == mesh) && (m.owner == "" || owner == "" || m.owner == owner)
}

func objectMarks(obj *unstructured.Unstructured) marks {
	a := obj.GetAnnotations()
	return marks{managed: managedByRistio(obj.GetLabels()), mesh: a[naming.MeshAnnotation], owner: a[naming.OwnerAnnotation]}
}

func releaseMarks(rel *helm.Release) marks {
	return marks{managed: rel.Owner != "", mesh: rel.Mesh, owner: rel.Owner}
}

func (w writer) ofObject(obj *unstructured.Unstructured) ownership {
	return decideOwnership(objectMarks(obj), string(w.mesh), w.owner, w.inState)
}

func (w writer) ofRelease(rel *helm.Release) ownership {
	return decideOwnership(releaseMarks(rel), w.mesh.LabelValue(), w.releaseOwner(), w.inState)
}

// releaseOwner is w's owner in the label form a release holds ("" stays "").
func (w writer) releaseOwner() string {
	if w.owner == "" {
		return ""
	}
	return naming.OwnerLabelValue(w.owner)
}

// An object is ristio's when it carries the managed-by label.
func managedByRistio(labels map[string]string) bool {
	return labels[naming.ManagedByLabel] == naming.ManagedByValue
}

// annotations mark an object as written by w.
func (w writer) annotations() map[string]string {
	a := map[string]string{naming.OwnerAnnotation: w.owner}
	if w.mesh != "" {
		a[naming.MeshAnnotation] = string(w.mesh)
	}
	return a
}

// refusal explains why what (an object or release, as the message names it)
// cannot be written, or returns nil when it can: it is ours, or adopt takes
// it over (which the log says).
func refusal(ctx context.Context, what string, own ownership, m marks, adopt bool) error {
	if own == ours || own == oursUnmarked {
		return nil
	}
	if adopt {
		p.GetLogger(ctx).Infof("adopting %s, %s", what, whose(own, m))
		return nil
	}
	switch own {
	case otherMesh:
		return fmt.Errorf("%s belongs to another mesh, %s (ristio.io/mesh): ristio never writes over or deletes another mesh's objects; check that this stack's kubeconfig points at the cluster you meant, or set adopt: true on the cluster to take it over (the only way)", what, m.mesh)
	case otherStack:
		return fmt.Errorf("%s was written by ristio for another stack (resource %s, before ristio marked objects with their mesh); set adopt: true on the cluster to take it over (the only way), or run up of the stack that owns it first", what, m.owner)
	}
	return fmt.Errorf("%s already exists and was not created by ristio; delete it (or move it aside) and run up again, or set adopt: true on the cluster to take it over", what)
}

func whose(own ownership, m marks) string {
	switch own {
	case otherMesh:
		return "which mesh " + m.mesh + " wrote"
	case otherStack:
		return "which another stack's ristio wrote"
	}
	return "which ristio did not create"
}

// claim refuses to write over an object that exists and is not w's (a
// cacerts from ristioctl, a remote secret from istioctl, another mesh's
// objects): taking it over would also delete it on destroy. With adopt
// (MeshCluster.adopt) it is taken over instead.
func claim(ctx context.Context, client objectClient, w writer, ref objectRef, adopt bool) error {
	obj, err := client.Get(ctx, ref.gvk, ref.ns, ref.name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", ref, err)
	}
	if obj == nil {
		return nil
	}
	return refusal(ctx, ref.String(), w.ofObject(obj), objectMarks(obj), adopt)
}

// applyOwned applies obj, marked as written by w, unless an object w does
// not own holds its name and adopt is off.
func applyOwned(ctx context.Context, client objectClient, w writer, obj *unstructured.Unstructured, adopt bool) error {
	if err := claim(ctx, client, w, objectRef{obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName()}, adopt); err != nil {
		return err
	}
	return applyMarked(ctx, client, w, obj)
}

// applyMarked applies obj, marked as written by w, once it is claimed.
func applyMarked(ctx context.Context, client objectClient, w writer, obj *unstructured.Unstructured) error {
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	for k, v := range w.annotations() {
		annotations[k] = v
	}
	obj.SetAnnotations(annotations)
	return client.Apply(ctx, obj)
}

// deleteManaged deletes an object only when w may (see deletable).
func deleteManaged(ctx context.Context, client objectClient, w writer, gvk schema.GroupVersionKind, ns, name string) error {
	obj, err := client.Get(ctx, gvk, ns, name)
	if err != nil {
		return fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	if obj == nil {
		return nil
	}
	if m := objectMarks(obj); !deletable(m, string(w.mesh), w.owner) {
		if m.managed && m.mesh != string(w.mesh) {
			p.GetLogger(ctx).Infof("keeping %s: %s", objectRef{gvk, ns, name}, whose(otherMesh, m))
		}
		return nil
	}
	if err := client.Delete(ctx, gvk, ns, name); err != nil {
		return fmt.Errorf("deleting %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	return nil
}

// ownedRelease reads a release, nil when there is none. One that exists and
// is not w's is refused, since taking it over would uninstall it on destroy,
// unless the client takes ownership (adopt): the next upgrade then marks it.
func ownedRelease(ctx context.Context, hc releaseClient, w writer, cluster, release string) (*helm.Release, error) {
	existing, err := hc.Get(ctx, release)
	if err != nil {
		return nil, wrapCluster(cluster, fmt.Errorf("reading release %s: %w", release, err))
	}
	if existing == nil {
		return nil, nil
	}
	what := fmt.Sprintf("Helm release %s/%s", naming.IstioNamespace, release)
	if err := refusal(ctx, what, w.ofRelease(existing), releaseMarks(existing), hc.takeOwnership()); err != nil {
		return nil, wrapCluster(cluster, err)
	}
	return existing, nil
}

// uninstallOwned uninstalls a release only when w may (see deletable); w's
// owner "" matches any writer of its mesh (istio-base, shared by the
// revisions).
func uninstallOwned(ctx context.Context, hc releaseClient, w writer, cluster, release string) error {
	logger := p.GetLogger(ctx)
	rel, err := hc.Get(ctx, release)
	if err != nil {
		return fmt.Errorf("reading release %s: %w", release, err)
	}
	if rel == nil {
		return nil
	}
	if m := releaseMarks(rel); !deletable(m, w.mesh.LabelValue(), w.releaseOwner()) {
		logger.Infof("cluster %s: keeping release %s: this resource did not write its last revision (owner %q, mesh %q)", cluster, release, m.owner, m.mesh)
		return nil
	}
	logger.InfoStatusf("%s: uninstalling release %s", cluster, release)
	if err := hc.Uninstall(ctx, release); err != nil {
		return fmt.Errorf("uninstalling release %s: %w", release, err)
	}
	return nil
}

// markOwned gives what w wrote before objects carried their mesh (t's
// objects and releases in cluster c) w's mark, in place: objects get the
// annotation, releases the label on their newest revision, and nothing else
// changes. What is not w's is refused as claim would without adopt: marking
// never takes anything over.
func (d Deps) markOwned(ctx context.Context, c ClusterConnection, w writer, t takeover) error {
	if w.mesh == "" {
		return nil
	}
	client, err := d.kubeClient(c)
	if err != nil {
		return err
	}
	for _, ref := range t.objects {
		obj, err := client.Get(ctx, ref.gvk, ref.ns, ref.name)
		if err != nil {
			return wrapCluster(c.Name, fmt.Errorf("reading %s: %w", ref, err))
		}
		if obj == nil {
			continue
		}
		own := w.ofObject(obj)
		if err := refusal(ctx, ref.String(), own, objectMarks(obj), false); err != nil {
			return wrapCluster(c.Name, err)
		}
		if own == ours {
			continue
		}
		// The mark alone: the owner stays whoever wrote the object last.
		p.GetLogger(ctx).InfoStatusf("%s: marking %s as mesh %s's", c.Name, ref, w.mesh)
		if err := client.Annotate(ctx, ref.gvk, ref.ns, ref.name, map[string]string{naming.MeshAnnotation: string(w.mesh)}); err != nil {
			return wrapCluster(c.Name, err)
		}
	}
	if len(t.releases) == 0 {
		return nil
	}
	hc, err := d.helmClient(ctx, c, w)
	if err != nil {
		return err
	}
	for _, name := range t.releases {
		rel, err := ownedRelease(ctx, helmReleases{hc}, w, c.Name, name)
		if err != nil {
			return err
		}
		if rel == nil || rel.Mesh == w.mesh.LabelValue() {
			continue
		}
		p.GetLogger(ctx).InfoStatusf("%s: marking release %s as mesh %s's", c.Name, name, w.mesh)
		if _, err := hc.Mark(ctx, name); err != nil {
			return wrapCluster(c.Name, err)
		}
	}
	return nil
}
