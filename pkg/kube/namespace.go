package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// EnsureNamespace creates the namespace, labelled with labels and the
// managed-by label, or sets labels on the namespace that exists. It applies
// the labels server-side, so a label it set before and no longer passes is
// removed, while labels set by others stay. A namespace that existed before
// ristio does not gain the managed-by label. A namespace being deleted is an
// error.
func (c *Client) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	nss := c.kube.CoreV1().Namespaces()
	want := make(map[string]string, len(labels)+1)
	existing, err := nss.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		want[naming.ManagedByLabel] = naming.ManagedByValue
	case err != nil:
		return fmt.Errorf("get namespace %s: %w", name, err)
	case existing.DeletionTimestamp != nil || existing.Status.Phase == corev1.NamespaceTerminating:
		return fmt.Errorf("namespace %s is being deleted; try again once it is gone", name)
	case existing.Labels[naming.ManagedByLabel] == naming.ManagedByValue:
		// Keep the label this manager set at creation.
		want[naming.ManagedByLabel] = naming.ManagedByValue
	}
	for k, v := range labels {
		want[k] = v
	}
	ac := corev1ac.Namespace(name).WithLabels(want)
	if _, err := nss.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("apply namespace %s: %w", name, err)
	}
	return nil
}

// DeleteNamespace deletes the namespace and waits until it is gone. A
// namespace that does not exist is not an error; one already being deleted
// is waited for.
func (c *Client) DeleteNamespace(ctx context.Context, name string, progress Progress) error {
	nss := c.kube.CoreV1().Namespaces()
	background := metav1.DeletePropagationBackground
	err := nss.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err): // already terminating
	case err != nil:
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return poll(ctx, "deletion of namespace "+name, progress, func(ctx context.Context) (bool, string, error) {
		ns, err := nss.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, namespaceState(ns), nil
	})
}

// namespaceState says what holds a terminating namespace up, from the
// conditions the namespace controller sets.
func namespaceState(ns *corev1.Namespace) string {
	var reasons []string
	for _, cond := range ns.Status.Conditions {
		if cond.Status == corev1.ConditionTrue {
			reasons = append(reasons, fmt.Sprintf("%s: %s", cond.Type, cond.Message))
		}
	}
	sort.Strings(reasons)
	state := "phase " + string(ns.Status.Phase)
	if len(ns.Spec.Finalizers) > 0 {
		fs := make([]string, len(ns.Spec.Finalizers))
		for i, f := range ns.Spec.Finalizers {
			fs[i] = string(f)
		}
		state += ", finalizers " + strings.Join(fs, ",")
	}
	if len(reasons) > 0 {
		state += "; " + strings.Join(reasons, "; ")
	}
	return state
}

// Objects in a namespace that Kubernetes and Istio write themselves: they
// never keep a namespace ristio made.
var (
	// written in every namespace, by the API server and by istiod
	systemConfigMaps = []string{"kube-root-ca.crt", "istio-ca-root-cert", "istio-ca-crl"}
	// istiod's own CA when no cacerts is plugged in
	systemSecrets = []string{"istio-ca-secret"}
)

// foreignKinds are what ForeignObjects lists.
var foreignKinds = []schema.GroupVersionKind{
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"},
	{Group: "apps", Version: "v1", Kind: "DaemonSet"},
	{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	{Group: "batch", Version: "v1", Kind: "Job"},
	{Group: "batch", Version: "v1", Kind: "CronJob"},
	{Version: "v1", Kind: "Pod"},
	{Version: "v1", Kind: "Service"},
	{Version: "v1", Kind: "PersistentVolumeClaim"},
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Secret"},
}

// writtenBySystem says whether Kubernetes or istiod wrote o, of kind, for
// itself (a root certificate, a leader lock), or it is a Helm release
// record, which is judged as a release.
func writtenBySystem(kind string, o *unstructured.Unstructured) bool {
	switch kind {
	case "ConfigMap":
		_, lock := o.GetAnnotations()[leaderLockAnnotation]
		return lock || slices.Contains(systemConfigMaps, o.GetName())
	case "Secret":
		return o.GetLabels()["owner"] == "helm" || slices.Contains(systemSecrets, o.GetName())
	}
	return false
}

// judgedControllers are the kinds ForeignObjects judges itself: what they
// own is judged through them. A pod of another controller (an operator's
// custom resource) is judged on its own.
var judgedControllers = []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

// leaderLockAnnotation marks a ConfigMap used as a leader-election lock
// (istiod's are).
const leaderLockAnnotation = "control-plane.alpha.kubernetes.io/leader"

// helmOwnerSelector selects Helm's release records (one Secret per revision).
const helmOwnerSelector = "owner=helm"

// ForeignObjects names, sorted, what lives in ns that ristio did not write
// and that deleting the namespace would take with it: Helm releases ristio
// did not install, and Deployments, StatefulSets, DaemonSets, ReplicaSets,
// Jobs, CronJobs and Pods (those a controller owns are judged through it),
// Services, PersistentVolumeClaims, ConfigMaps and Secrets that neither
// ristio wrote nor a release of ristio's renders. Objects Kubernetes and
// Istio write themselves are left out.
func (c *Client) ForeignObjects(ctx context.Context, ns string) ([]string, error) {
	ours, foreignReleases, err := c.releasesIn(ctx, ns)
	if err != nil {
		return nil, err
	}
	out := foreignReleases
	keep := func(kind string, o metav1.Object) {
		if o.GetLabels()[naming.ManagedByLabel] == naming.ManagedByValue {
			return
		}
		if r, ok := o.GetAnnotations()[naming.HelmReleaseAnnotation]; ok && ours[r] {
			return
		}
		if ref := metav1.GetControllerOf(o); ref != nil && slices.Contains(judgedControllers, ref.Kind) {
			return // judged through its controller
		}
		out = append(out, kind+" "+o.GetName())
	}
	for _, gvk := range foreignKinds {
		ri, err := c.resource(ctx, gvk, ns, false)
		if err != nil {
			return nil, fmt.Errorf("list %ss in %s: %w", strings.ToLower(gvk.Kind), ns, err)
		}
		list, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %ss in %s: %w", strings.ToLower(gvk.Kind), ns, err)
		}
		for i := range list.Items {
			if o := &list.Items[i]; !writtenBySystem(gvk.Kind, o) {
				keep(gvk.Kind, o)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// releasesIn reads Helm's release records in ns: the names of the releases
// whose latest revision ristio wrote (it labels them naming.OwnerLabel), and
// "Helm release <name>" for each of the others.
func (c *Client) releasesIn(ctx context.Context, ns string) (map[string]bool, []string, error) {
	records, err := c.kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: helmOwnerSelector})
	if err != nil {
		return nil, nil, fmt.Errorf("list helm releases in %s: %w", ns, err)
	}
	latest := map[string]*corev1.Secret{}
	for i := range records.Items {
		r := &records.Items[i]
		name := r.Labels["name"]
		if prev, ok := latest[name]; !ok || version(r) > version(prev) {
			latest[name] = r
		}
	}
	ours := map[string]bool{}
	var foreign []string
	for name, r := range latest {
		if r.Labels[naming.OwnerLabel] != "" {
			ours[name] = true
		} else {
			foreign = append(foreign, "Helm release "+name)
		}
	}
	return ours, foreign, nil
}

// version is a Helm release record's revision.
func version(record *corev1.Secret) int {
	v, _ := strconv.Atoi(record.Labels["version"])
	return v
}
