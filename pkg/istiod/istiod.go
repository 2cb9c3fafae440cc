// Package istiod asks a cluster's istiods (every revision) what they know,
// the way istioctl does: a port-forward through the API server to each pod's
// monitoring port for the debug endpoints, and to 15012 for the certificate
// it serves. The answers are judged by pkg/meshcheck.
package istiod

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/meshcheck"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// askTimeout bounds each question to one pod, so one stuck port-forward or
// endpoint does not hold the whole check, nor keep the others unasked.
const askTimeout = 20 * time.Second

// servingName is the name istiod's 15012 certificate is asked for.
const servingName = "istiod." + naming.IstioNamespace + ".svc"

// askParallelism bounds how many istiod pods of one cluster are asked at
// once (a few per revision): each holds port-forwards open.
const askParallelism = 4

// logLines is how much of istiod's log is searched for what it said about a peer.
const logLines = 2000

// Ask questions every running istiod pod in istio-system (of one revision
// when revision is set), in parallel. An error means the pods could not even
// be listed.
func Ask(ctx context.Context, c *kube.Client, revision string) ([]meshcheck.Istiod, error) {
	selector := meshcheck.IstiodSelector
	if revision != "" {
		selector += "," + meshcheck.RevisionLabel + "=" + revision
	}
	pods, err := c.RunningPods(ctx, naming.IstioNamespace, selector)
	if err != nil {
		return nil, err
	}
	out := make([]meshcheck.Istiod, len(pods))
	eachPod(pods, func(i int) { out[i] = ask(ctx, c, &pods[i]) })
	return out, nil
}

// eachPod runs ask for every pod, askParallelism at a time; ask keeps its
// answer, failures included.
func eachPod(pods []corev1.Pod, ask func(i int)) {
	var g errgroup.Group
	g.SetLimit(askParallelism)
	for i := range pods {
		g.Go(func() error {
			ask(i)
			return nil
		})
	}
	_ = g.Wait()
}

func ask(parent context.Context, c *kube.Client, pod *corev1.Pod) meshcheck.Istiod {
	d := meshcheck.Istiod{Pod: pod.Name, Revision: pod.Labels[meshcheck.RevisionLabel]}
	port := monitoringPort(pod)
	bounded(parent, func(ctx context.Context) {
		d.Clusterz, d.ClusterzErr = c.PodGet(ctx, pod.Namespace, pod.Name, port, meshcheck.ClusterzPath)
	})
	bounded(parent, func(ctx context.Context) {
		d.Networkz, d.NetworkzErr = c.PodGet(ctx, pod.Namespace, pod.Name, port, meshcheck.NetworkzPath)
	})
	bounded(parent, func(ctx context.Context) {
		d.EndpointShardz, d.EndpointShardzErr = c.PodGet(ctx, pod.Namespace, pod.Name, port, meshcheck.EndpointShardzPath)
	})
	bounded(parent, func(ctx context.Context) {
		d.ServingChain, d.ServingErr = c.PodTLSChain(ctx, pod.Namespace, pod.Name, meshcheck.XDSTLSPort, servingName)
	})
	if d.ClusterzErr != nil && d.NetworkzErr != nil && d.EndpointShardzErr != nil && d.ServingErr != nil {
		d.Err, d.ClusterzErr, d.NetworkzErr, d.EndpointShardzErr, d.ServingErr = d.ClusterzErr, nil, nil, nil, nil
	}
	d.Says = saidAbout(parent, c, pod) // called after this pod's questions end
	d.Version = sync.OnceValue(func() string { return Version(parent, c, pod) })
	return d
}

// Version is what one istiod pod says of its build on /version
// ("1.30.3-<git revision>-Clean"), or "" when it cannot be asked within
// askTimeout.
func Version(parent context.Context, c *kube.Client, pod *corev1.Pod) string {
	var v string
	bounded(parent, func(ctx context.Context) {
		if body, err := c.PodGet(ctx, pod.Namespace, pod.Name, monitoringPort(pod), meshcheck.VersionPath); err == nil {
			v = strings.TrimSpace(string(body))
		}
	})
	return v
}

// bounded runs one question within askTimeout.
func bounded(parent context.Context, question func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(parent, askTimeout)
	defer cancel()
	question(ctx)
}

// monitoringPort is 15014 unless the pod says otherwise, as istioctl reads it.
func monitoringPort(pod *corev1.Pod) int {
	if v, ok := pod.Annotations[meshcheck.MonitoringPortAnnotation]; ok {
		if p, err := strconv.Atoi(v); err == nil {
			return p
		}
	}
	return meshcheck.MonitoringPort
}

// saidAbout returns a function giving the last error or warning istiod logged
// about a peer: its remote secret's name or its cluster ID. The log is read
// at most once, and only when a failure needs explaining.
func saidAbout(ctx context.Context, c *kube.Client, pod *corev1.Pod) func(peer string) string {
	var once sync.Once
	var lines []string
	container := "discovery"
	if len(pod.Spec.Containers) > 0 {
		container = pod.Spec.Containers[0].Name
	}
	return func(peer string) string {
		once.Do(func() {
			logs, err := c.PodLogTail(ctx, pod.Namespace, pod.Name, container, logLines)
			if err == nil {
				lines = strings.Split(logs, "\n")
			}
		})
		return lastSaid(lines, peer)
	}
}

// lastSaid is the last error or warning in lines about peer. Most telling
// first: a line labelled with the peer's cluster ID (istiod's own failure to
// build its client), then any naming its secret, then any naming the cluster.
func lastSaid(lines []string, peer string) string {
	for _, mark := range []string{"cluster=" + peer, naming.RemoteSecret(peer), "cluster " + peer} {
		for i := len(lines) - 1; i >= 0; i-- {
			if l := lines[i]; isProblem(l) && strings.Contains(l, mark) {
				return trimLogLine(l)
			}
		}
	}
	return ""
}

// isProblem says whether an istiod log line is at level error or warn.
func isProblem(line string) bool {
	fields := strings.SplitN(line, "\t", 3)
	return len(fields) == 3 && (fields[1] == "error" || fields[1] == "warn")
}

// secretLike matches what could be key or token material quoted in an error
// (a YAML parse error can echo a value): JWTs and long base64 runs. Quoted
// lines end up in state and in `up`'s output, so they are masked.
var secretLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*){0,2}|[A-Za-z0-9+/=]{40,}`)

// trimLogLine drops istiod's timestamp and level prefix, masks anything that
// looks like a secret, and bounds the length.
func trimLogLine(l string) string {
	fields := strings.SplitN(strings.TrimSpace(l), "\t", 3)
	if len(fields) == 3 {
		l = strings.ReplaceAll(fields[2], "\t", " ")
	}
	l = secretLike.ReplaceAllString(l, "[redacted]")
	const max = 400
	if len(l) > max {
		l = l[:max] + "…"
	}
	return l
}

// GatewayIPs lists what a gateway address resolves to when it is a
// hostname (istiod resolves such gateways itself); nil for an IP.
func GatewayIPs(ctx context.Context, address string) []string {
	if address == "" || net.ParseIP(address) != nil {
		return nil
	}
	ips, err := net.DefaultResolver.LookupHost(ctx, address)
	if err != nil {
		return nil
	}
	return ips
}
