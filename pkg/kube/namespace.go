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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	opts := metav1.ListOptions{}
	lists := []struct {
		kind string
		list func() ([]metav1.Object, error)
	}{
		{"Deployment", func() ([]metav1.Object, error) {
			l, err := c.kube.AppsV1().Deployments(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"StatefulSet", func() ([]metav1.Object, error) {
			l, err := c.kube.AppsV1().StatefulSets(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"DaemonSet", func() ([]metav1.Object, error) {
			l, err := c.kube.AppsV1().DaemonSets(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"ReplicaSet", func() ([]metav1.Object, error) {
			l, err := c.kube.AppsV1().ReplicaSets(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"Job", func() ([]metav1.Object, error) {
			l, err := c.kube.BatchV1().Jobs(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"CronJob", func() ([]metav1.Object, error) {
			l, err := c.kube.BatchV1().CronJobs(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"Pod", func() ([]metav1.Object, error) {
			l, err := c.kube.CoreV1().Pods(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"Service", func() ([]metav1.Object, error) {
			l, err := c.kube.CoreV1().Services(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"PersistentVolumeClaim", func() ([]metav1.Object, error) {
			l, err := c.kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, opts)
			return objects(l, err)
		}},
		{"ConfigMap", func() ([]metav1.Object, error) {
			l, err := c.kube.CoreV1().ConfigMaps(ns).List(ctx, opts)
			if err != nil {
				return nil, err
			}
			var out []metav1.Object
			for i := range l.Items {
				cm := &l.Items[i]
				if _, lock := cm.Annotations[leaderLockAnnotation]; !lock && !slices.Contains(systemConfigMaps, cm.Name) {
					out = append(out, cm)
				}
			}
			return out, nil
		}},
		{"Secret", func() ([]metav1.Object, error) {
			l, err := c.kube.CoreV1().Secrets(ns).List(ctx, opts)
			if err != nil {
				return nil, err
			}
			var out []metav1.Object
			for i := range l.Items {
				s := &l.Items[i]
				// Helm's release records are judged as releases.
				if s.Labels["owner"] != "helm" && !slices.Contains(systemSecrets, s.Name) {
					out = append(out, s)
				}
			}
			return out, nil
		}},
	}
	for _, l := range lists {
		items, err := l.list()
		if err != nil {
			return nil, fmt.Errorf("list %ss in %s: %w", strings.ToLower(l.kind), ns, err)
		}
		for _, o := range items {
			keep(l.kind, o)
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

// objects turns a typed list into its items' metadata.
func objects[L any](list L, err error) ([]metav1.Object, error) {
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(any(list).(runtime.Object))
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(items))
	for _, it := range items {
		o, err := meta.Accessor(it)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
