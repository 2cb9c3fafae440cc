package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kubectl/pkg/polymorphichelpers"
)

// How often waits look, and how often they report.
var (
	pollInterval     = 500 * time.Millisecond
	progressInterval = 5 * time.Second
)

// check looks once: done, or the state to report ("0/1 replicas
// available"). An error that permanent marks ends the wait; others are
// retried as the last state.
type check func(ctx context.Context) (done bool, state string, err error)

// permanentError ends a wait: waiting longer cannot help.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// isPermanent tells errors that a wait should not sit through: the caller
// may not read the object, or the check said so.
func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}

// poll runs look until it is done or ctx ends, reporting through progress
// every progressInterval. what names the object ("deployment ns/name"). At
// the deadline the error names what and the last state it saw.
func poll(ctx context.Context, what string, progress Progress, look check) error {
	start := time.Now()
	nextReport := start.Add(progressInterval)
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	state := "not checked yet"
	for {
		done, s, err := look(ctx)
		switch {
		case err != nil && isPermanent(err):
			return fmt.Errorf("waiting for %s: %w", what, err)
		case err != nil && !ending(ctx, err):
			state = "last error: " + err.Error()
		case err == nil:
			state = s
		}
		if done {
			return nil
		}
		if now := time.Now(); progress != nil && !now.Before(nextReport) {
			if state != "" {
				progress("waiting for %s (%s): %s", what, elapsed(start), state)
			} else {
				progress("waiting for %s (%s)", what, elapsed(start))
			}
			nextReport = now.Add(progressInterval)
		}
		select {
		case <-ctx.Done():
			verb := "cancelled"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				verb = "timed out"
			}
			if state == "" {
				return fmt.Errorf("%s after %s waiting for %s: %w", verb, elapsed(start), what, ctx.Err())
			}
			return fmt.Errorf("%s after %s waiting for %s: %s: %w", verb, elapsed(start), what, state, ctx.Err())
		case <-ticker.C:
		}
	}
}

// ending tells an error caused by the end of ctx, which says nothing about
// the object. client-go's rate limiter refuses a request whose context's
// deadline has passed before the context itself reports it.
func ending(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

func elapsed(start time.Time) time.Duration { return time.Since(start).Round(time.Second) }

// WaitForServiceAccount waits until the service account exists.
func (c *Client) WaitForServiceAccount(ctx context.Context, ns, name string, progress Progress) error {
	sas := c.kube.CoreV1().ServiceAccounts(ns)
	return poll(ctx, "service account "+ref(ns, name), progress, func(ctx context.Context) (bool, string, error) {
		_, err := sas.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "not found", nil
		}
		return err == nil, "", err
	})
}

// WaitForDeployment waits until the deployment has rolled out, as `kubectl
// rollout status` says: its controller has seen its latest spec and every
// replica is updated and available.
func (c *Client) WaitForDeployment(ctx context.Context, ns, name string, progress Progress) error {
	deployments := c.kube.AppsV1().Deployments(ns)
	var last *appsv1.Deployment
	err := poll(ctx, "deployment "+ref(ns, name), progress, func(ctx context.Context) (bool, string, error) {
		d, err := deployments.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			last = nil
			return false, "not found", nil
		}
		if err != nil {
			return false, "", err
		}
		last = d
		return deploymentReady(d)
	})
	if err != nil && last != nil && errors.Is(err, context.DeadlineExceeded) {
		if pods := c.podsState(ctx, last); pods != "" {
			return fmt.Errorf("%w; %s", err, pods)
		}
	}
	return err
}

// deploymentReady is `kubectl rollout status`: the controller has seen the
// latest spec and every replica runs the current template and is available.
// The old replicas stay available during a rollout, so "some replica is
// available" would end the wait before an upgrade did. The state is
// kubectl's message, with the reasons of failed or stalled replicas added.
func deploymentReady(d *appsv1.Deployment) (bool, string, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		return false, "", permanent(fmt.Errorf("deployment %s: %w", d.Name, err))
	}
	msg, done, err := (&polymorphichelpers.DeploymentStatusViewer{}).Status(&unstructured.Unstructured{Object: obj}, 0)
	switch {
	case err != nil:
		// kubectl gives up at the progress deadline; the wait goes on to its
		// own, since a rollout can still recover (an image pushed late).
		msg = err.Error()
	case done:
		return true, "", nil
	default:
		msg = rolloutState(d.Name, msg)
	}
	return false, msg + replicaTrouble(d), nil
}

// rolloutState trims kubectl's "Waiting for deployment "istiod" rollout to
// finish: 0 of 1 updated replicas are available...\n" to what follows
// poll's own "waiting for deployment ns/istiod (5s): ".
func rolloutState(name, msg string) string {
	msg = strings.TrimSuffix(strings.TrimSpace(msg), "...")
	msg = strings.TrimPrefix(msg, "Waiting for ")
	return strings.TrimPrefix(msg, fmt.Sprintf("deployment %q rollout to finish: ", name))
}

// replicaTrouble quotes the conditions that say why replicas do not come
// (pods refused by an admission webhook, a rollout past its deadline), which
// kubectl's message leaves out.
func replicaTrouble(d *appsv1.Deployment) string {
	var out string
	for _, cond := range d.Status.Conditions {
		failed := cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue
		stuck := cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse
		if failed || stuck {
			out += fmt.Sprintf("; %s: %s", cond.Reason, cond.Message)
		}
	}
	return out
}

// podsState describes the deployment's pods that are not ready, for a
// timeout message. It runs after ctx ended, so it gets a short context of
// its own.
func (c *Client) podsState(ctx context.Context, d *appsv1.Deployment) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return ""
	}
	pods, err := c.kube.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String(), Limit: 20})
	if err != nil {
		return ""
	}
	if len(pods.Items) == 0 {
		return "no pods exist"
	}
	var lines []string
	for _, p := range pods.Items {
		if why := podNotReady(&p); why != "" {
			lines = append(lines, p.Name+": "+why)
		}
	}
	sort.Strings(lines)
	if len(lines) > 3 {
		lines = append(lines[:3], fmt.Sprintf("and %d more", len(lines)-3))
	}
	if len(lines) == 0 {
		return ""
	}
	return "pods: " + strings.Join(lines, "; ")
}

// podNotReady says why a pod is not ready, or "" when it is.
func podNotReady(p *corev1.Pod) string {
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return fmt.Sprintf("container %s %s", cs.Name, w.Reason)
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			return ""
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Status == corev1.ConditionFalse && cond.Reason != "" {
			return fmt.Sprintf("phase %s, %s %s", p.Status.Phase, cond.Type, cond.Reason)
		}
	}
	return "phase " + string(p.Status.Phase)
}

// WaitForServiceAddress waits until the LoadBalancer service has an
// ingress address and returns the first one: its IP, else its hostname.
// A service of another type is an error at once.
func (c *Client) WaitForServiceAddress(ctx context.Context, ns, name string, progress Progress) (string, error) {
	services := c.kube.CoreV1().Services(ns)
	var addr string
	err := poll(ctx, "load-balancer address of service "+ref(ns, name), progress, func(ctx context.Context) (bool, string, error) {
		svc, err := services.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "service not found", nil
		}
		if err != nil {
			return false, "", err
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			return false, "", permanent(fmt.Errorf("service is of type %s, not LoadBalancer", svc.Spec.Type))
		}
		addr = firstAddress(svc)
		return addr != "", "no ingress address yet", nil
	})
	if err != nil {
		return "", err
	}
	return addr, nil
}

// ServiceAddress returns the service's first load-balancer ingress address
// (IP, else hostname), or "" when it has none yet or does not exist.
func (c *Client) ServiceAddress(ctx context.Context, ns, name string) (string, error) {
	svc, err := c.kube.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get service %s: %w", ref(ns, name), err)
	}
	return firstAddress(svc), nil
}

func firstAddress(svc *corev1.Service) string {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			return in.IP
		}
		if in.Hostname != "" {
			return in.Hostname
		}
	}
	return ""
}
