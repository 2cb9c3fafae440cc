package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/ristio/pulumi-ristio/pkg/istiod"
	"github.com/ristio/pulumi-ristio/pkg/istioissues"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/meshcheck"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// restartIstiodAfterSecretRotation: whether a cluster's istiods are
// restarted after ristio rewrites remote secrets in it. Some Istio releases
// lose a peer's endpoints (and its network gateway) when its remote secret
// is rewritten in place, while /debug/clusterz goes on saying synced, until
// istiod restarts (istioissues.SecretRewrite).
const (
	restartAuto   = "auto"   // when a running istiod has such a defect, or reports no release
	restartAlways = "always" // after every rewrite
	restartNever  = "never"  // never; the mesh check then fails on an affected istiod
)

const restartPolicyDoc = "Whether a cluster's istiods get a rolling restart after `up` rewrites remote secrets in it (a renewed token, a new remoteApiServer, another readerTokenMode, an adopted secret): auto (when a running istiod reports an Istio release that loses a peer's endpoints on such a rewrite, istio/istio#61043, #60920, #60612, or reports no release), always, or never (the mesh check then fails until istiod restarts)."

// checkRestartPolicy validates a restartIstiodAfterSecretRotation value at
// field, for cluster ("" for the whole mesh).
func checkRestartPolicy(field, cluster string, policy *string) []p.CheckFailure {
	switch v := deref(policy); v {
	case "", restartAuto, restartAlways, restartNever:
		return nil
	default:
		reason := fmt.Sprintf("restartIstiodAfterSecretRotation must be %s, %s or %s, got %q", restartAuto, restartAlways, restartNever, v)
		if cluster != "" {
			reason = fmt.Sprintf("cluster %q: %s", cluster, reason)
		}
		return []p.CheckFailure{{Property: field, Reason: reason}}
	}
}

// istiodRestarts gives each cluster one restart for the remote secrets
// rewritten in it at about the same time: in a mesh with a RemoteSecret per
// pair, a token renewal rewrites N−1 secrets in each cluster at once, and
// istiod must restart after the last of them, once. Writers that overlap
// share a round; the last to finish restarts, the others wait for it. A
// writer that starts after a round ended starts another.
type istiodRestarts struct {
	mu        sync.Mutex
	rounds    map[string]*restartRound // by ClusterConnection.key
	previewed map[string]bool          // clusters whose preview said what will happen
}

type restartRound struct {
	writers int
	rewrote bool
	done    chan struct{}
	err     error
}

// secretWrites is one writer's part in a round; see Deps.writingSecrets.
type secretWrites struct {
	d        Deps
	restarts *istiodRestarts
	target   ClusterConnection
	round    *restartRound
}

// writingSecrets joins the round of remote-secret writes into target. The
// caller must call done once its writes end, whatever happened.
func (d Deps) writingSecrets(target ClusterConnection) *secretWrites {
	r := d.restarts()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rounds == nil {
		r.rounds = map[string]*restartRound{}
	}
	round := r.rounds[target.key()]
	if round == nil {
		round = &restartRound{done: make(chan struct{})}
		r.rounds[target.key()] = round
	}
	round.writers++
	return &secretWrites{d: d, restarts: r, target: target, round: round}
}

// restarts is the process's istiodRestarts, or, without one, a fresh one:
// every writer then has a round of its own.
func (d Deps) restarts() *istiodRestarts {
	if d.Restarts == nil {
		return &istiodRestarts{}
	}
	return d.Restarts
}

// done ends this writer's part, saying whether it rewrote an existing
// secret's data. The last writer of the round restarts target's istiods
// when some writer rewrote one and policy asks for it; every writer returns
// that restart's error.
func (w *secretWrites) done(ctx context.Context, rewrote bool, policy *string) error {
	return w.end(ctx, rewrote, func(ctx context.Context) error {
		return w.d.restartIstiods(ctx, w.target, deref(policy))
	})
}

// end is done with the restart given.
func (w *secretWrites) end(ctx context.Context, rewrote bool, restart func(context.Context) error) error {
	r := w.restarts
	r.mu.Lock()
	w.round.rewrote = w.round.rewrote || rewrote
	w.round.writers--
	last := w.round.writers == 0
	if last {
		delete(r.rounds, w.target.key())
	}
	r.mu.Unlock()
	if last {
		if w.round.rewrote {
			w.round.err = restart(ctx)
		}
		close(w.round.done)
	}
	select {
	case <-w.round.done:
		return w.round.err
	case <-ctx.Done():
		return wrapCluster(w.target.Name, fmt.Errorf("waiting for istiod's restart after its remote secrets were rewritten: %w", ctx.Err()))
	}
}

// affectedIstiods asks each running istiod in the cluster which release it
// runs and returns what the affected ones have, described ("" for none), and
// whether any istiod runs.
func (d Deps) affectedIstiods(ctx context.Context, client *kube.Client) (known string, running bool, err error) {
	version := d.IstiodVersion
	if version == nil {
		version = istiod.Version
	}
	pods, err := client.RunningPods(ctx, naming.IstioNamespace, meshcheck.IstiodSelector)
	if err != nil {
		return "", false, err
	}
	var said []string
	for i := range pods {
		v := version(ctx, client, &pods[i]) // "" (affected) when it does not answer
		if d := istioissues.Describe(v, istioissues.Affected(v, istioissues.SecretRewrite)); d != "" && !slices.Contains(said, d) {
			said = append(said, d)
		}
	}
	return strings.Join(said, "; "), len(pods) > 0, nil
}

// restartIstiods rolls every istiod Deployment in istio-system (every
// revision reads the same remote secrets) and waits for the rollouts, when
// policy asks for it.
func (d Deps) restartIstiods(ctx context.Context, target ClusterConnection, policy string) error {
	if policy == restartNever {
		return nil
	}
	client, err := d.kubeClient(target)
	if err != nil {
		return err
	}
	why := "restartIstiodAfterSecretRotation: always"
	if policy != restartAlways {
		known, running, err := d.affectedIstiods(ctx, client)
		if err != nil {
			return wrapCluster(target.Name, fmt.Errorf("reading istiod's release: %w", err))
		}
		if known == "" || !running {
			return nil
		}
		why = known
	}
	names, err := client.RestartDeployments(ctx, naming.IstioNamespace, meshcheck.IstiodSelector, d.Now())
	if err != nil {
		return wrapCluster(target.Name, err)
	}
	p.GetLogger(ctx).Infof("cluster %s: restarting %s after its remote secrets were rewritten (%s)", target.Name, strings.Join(names, ", "), why)
	for _, name := range names {
		if err := client.WaitForDeployment(ctx, naming.IstioNamespace, name, progress(ctx, target.Name)); err != nil {
			return wrapCluster(target.Name, fmt.Errorf("restarting istiod after its remote secrets were rewritten: %w", err))
		}
	}
	return nil
}

// previewRestart says, once per cluster and preview, what an `up` that
// rewrites remote secrets in target will do to its istiods.
func (d Deps) previewRestart(ctx context.Context, target ClusterConnection, policy *string) {
	r := d.restarts()
	r.mu.Lock()
	if r.previewed == nil {
		r.previewed = map[string]bool{}
	}
	said := r.previewed[target.key()]
	r.previewed[target.key()] = true
	r.mu.Unlock()
	if said {
		return
	}
	logger := p.GetLogger(ctx)
	if deref(policy) == restartAlways {
		logger.Infof("%s: istiod will be restarted after its remote secrets are rewritten (restartIstiodAfterSecretRotation: always)", target.Name)
		return
	}
	client, err := d.kubeClient(target)
	if err != nil {
		return // the write itself reports an unreachable cluster
	}
	known, running, err := d.affectedIstiods(ctx, client)
	switch {
	case err != nil || !running || known == "":
	case deref(policy) == restartNever:
		logger.Warningf("%s: istiod will not be restarted after its remote secrets are rewritten (restartIstiodAfterSecretRotation: never), and %s: the mesh check will fail until istiod restarts", target.Name, known)
	default:
		logger.Infof("%s: istiod will be restarted after its remote secrets are rewritten (%s)", target.Name, known)
	}
}

// previewAdoptedRewrites is previewRestart for an adopting create: it
// rewrites the secrets it finds, so it says what happens when one of names
// exists in target.
func (d Deps) previewAdoptedRewrites(ctx context.Context, target ClusterConnection, policy *string, names ...string) {
	client, err := d.kubeClient(target)
	if err != nil {
		return
	}
	for _, name := range names {
		if s, err := client.GetSecret(ctx, naming.IstioNamespace, name); err == nil && s != nil {
			d.previewRestart(ctx, target, policy)
			return
		}
	}
}
