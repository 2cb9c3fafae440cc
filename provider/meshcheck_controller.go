package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/istiod"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/meshcheck"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/pki"
	"github.com/ristio/pulumi-ristio/pkg/sample"
)

var (
	_ infer.CustomResource[MeshCheckArgs, MeshCheckState] = (*MeshCheck)(nil)
	_ infer.CustomCheck[MeshCheckArgs]                    = (*MeshCheck)(nil)
	_ infer.CustomDiff[MeshCheckArgs, MeshCheckState]     = (*MeshCheck)(nil)
	_ infer.CustomUpdate[MeshCheckArgs, MeshCheckState]   = (*MeshCheck)(nil)
	_ infer.CustomRead[MeshCheckArgs, MeshCheckState]     = (*MeshCheck)(nil)
	_ infer.CustomDelete[MeshCheckState]                  = (*MeshCheck)(nil)
	_ infer.Fn[CheckMeshArgs, CheckMeshResult]            = (*CheckMesh)(nil)
)

// meshCheckInterval is how often `up` asks istiod again while waiting.
const meshCheckInterval = 2 * time.Second

// meshCheckParallelism bounds how many clusters one check (a MeshCheck, or
// checkMesh) questions at once: each question is a few API calls and
// port-forwards to the cluster's istiods.
const meshCheckParallelism = 8

// Check validates every connection and peer.
func (r *MeshCheck) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[MeshCheckArgs], error) {
	return checkInputs(ctx, req, func(args MeshCheckArgs, old *MeshCheckArgs) (failures []p.CheckFailure) {
		failures = checkConnection("cluster", req.NewInputs, args.Cluster)
		failures = append(failures, checkDataplane(args.Cluster.Name, args.Dataplane, nil, false)...)
		seen := map[string]bool{args.Cluster.Name: true}
		for i, peer := range args.Peers {
			field := fmt.Sprintf("peers[%d]", i)
			if seen[peer.Cluster.Name] {
				failures = append(failures, p.CheckFailure{Property: field + ".cluster.name", Reason: fmt.Sprintf("cluster %q is listed twice (or is the checked cluster)", peer.Cluster.Name)})
			}
			seen[peer.Cluster.Name] = true
			if peers := req.NewInputs.Get("peers"); peers.IsArray() && i < peers.AsArray().Len() && peers.AsArray().Get(i).IsMap() {
				for _, f := range checkConnection("cluster", peers.AsArray().Get(i).AsMap(), peer.Cluster) {
					f.Property = field + "." + f.Property
					failures = append(failures, f)
				}
			}
			if a := deref(peer.GatewayAddress); a != "" {
				if err := checkAddress(a); err != nil {
					failures = append(failures, p.CheckFailure{Property: field + ".gatewayAddress", Reason: fmt.Sprintf("cluster %q: gatewayAddress %v", peer.Cluster.Name, err)})
				}
			}
		}
		if a := deref(args.GatewayAddress); a != "" {
			if err := checkAddress(a); err != nil {
				failures = append(failures, p.CheckFailure{Property: "gatewayAddress", Reason: fmt.Sprintf("cluster %q: gatewayAddress %v", args.Cluster.Name, err)})
			}
		}
		return failures
	})
}

// meshChecker asks a cluster's istiods, and its peers', about each other,
// once; Deps does it against the clusters.
type meshChecker interface {
	checkCluster(ctx context.Context, in MeshCheckArgs) MeshCheckState
}

// newMeshCheck builds the resource, which writes nothing: every change of
// its inputs asks again, and so does a refresh that found a peer not synced.
// Reaching a cluster is part of the question, so connect never fails.
func newMeshCheck(deps Deps) *MeshCheck {
	r := &MeshCheck{}
	r.clusterResource = clusterResource[MeshCheckArgs, MeshCheckState, meshChecker]{
		connect:  func(context.Context, ClusterConnection, writer) (meshChecker, error) { return deps, nil },
		claims:   nothingClaimed{},
		takeover: func(MeshCheckArgs, *MeshCheckState) takeover { return takeover{} },
		drift:    func(s MeshCheckState) map[string]bool { return map[string]bool{"status": !s.Healthy} },
		rewrite:  func(MeshCheckState, MeshCheckArgs) bool { return true }, // a new kubeconfig asks again
		apply:    r.wait,
		read: func(ctx context.Context, c meshChecker, s MeshCheckState) (MeshCheckState, error) {
			return c.checkCluster(ctx, s.MeshCheckArgs), nil
		},
		remove: func(context.Context, meshChecker, writer, MeshCheckState) error { return nil },
	}
	return r
}

// rewriteSettle is how long a pair must stay healthy after a remote secret
// between them was rewritten: an istiod with istio/istio#61043 drops the
// peer's endpoints only once the new client has synced and the old one is
// closed, so a first healthy answer can come just before the loss.
var rewriteSettle = 10 * time.Second

// secretsRewritten says whether a remote secret of a pair checked before
// has been rewritten since.
func secretsRewritten(old, in MeshCheckArgs) bool {
	before := map[string][]string{}
	for _, p := range old.Peers {
		before[p.Cluster.Name] = p.RemoteSecretChecksums
	}
	for _, p := range in.Peers {
		if prev, ok := before[p.Cluster.Name]; ok && len(prev) > 0 && !slices.Equal(prev, p.RemoteSecretChecksums) {
			return true
		}
	}
	return false
}

// wait asks until every peer is synced or timeoutSeconds pass, reporting the
// first reason on the status line. After a remote secret of a pair was
// rewritten (prior's checksums), a healthy answer counts only when it is
// still healthy when asked again rewriteSettle later. It touches nothing.
func (r *MeshCheck) wait(ctx context.Context, c meshChecker, _ writer, in MeshCheckArgs, prior *MeshCheckState) (MeshCheckState, bool, error) {
	var settle time.Duration
	if prior != nil && secretsRewritten(prior.MeshCheckArgs, in) {
		settle = rewriteSettle
	}
	report := progress(ctx, in.Cluster.Name)
	start := time.Now()
	var last MeshCheckState // the last answer not cut short by the deadline
	var healthySince time.Time
	for {
		state := c.checkCluster(ctx, in)
		if state.Healthy {
			if healthySince.IsZero() {
				healthySince = time.Now()
			}
			if time.Since(healthySince) >= settle {
				return state, false, nil
			}
			report("every pair synced; asking again in %s, since a remote secret of a pair was rewritten", (settle - time.Since(healthySince)).Round(time.Second))
			select {
			case <-ctx.Done():
				return state, false, nil
			case <-time.After(settle - time.Since(healthySince)):
			}
			continue
		}
		healthySince = time.Time{}
		if ctx.Err() == nil || last.Status == nil {
			last = state
		}
		problems := stateProblems(in.Cluster.Name, last)
		if ctx.Err() != nil {
			return last, false, fmt.Errorf("mesh check did not pass within %s:\n  %s", time.Since(start).Round(time.Second), strings.Join(problems, "\n  "))
		}
		report("waiting for istiod to sync every pair (%s): %s", time.Since(start).Round(time.Second), problems[0])
		select {
		case <-ctx.Done():
		case <-time.After(meshCheckInterval):
		}
	}
}

// stateProblems lists what is not synced, both ways, each line naming the
// cluster whose istiod says it.
func stateProblems(cluster string, s MeshCheckState) []string {
	out := meshcheck.Report{Peers: s.Status}.Problems(cluster)
	for _, peer := range slices.Sorted(maps.Keys(s.PeerStatus)) {
		out = append(out, meshcheck.Report{Peers: map[string]string{cluster: s.PeerStatus[peer]}}.Problems(peer)...)
	}
	return out
}

// checkCluster asks, once and in parallel, the cluster's istiods about every
// peer and every peer's istiods about the cluster, and judges them. Failures
// to reach anything become reasons in the status, never errors: a refresh
// must be able to show that a cluster stopped answering.
func (d Deps) checkCluster(ctx context.Context, in MeshCheckArgs) MeshCheckState {
	self := in.asPeer()
	// seen[0] is the cluster as its peers see it, seen[1+i] is peer i.
	sides := append([]MeshCheckPeer{self}, in.Peers...)
	seen := make([]meshcheck.Peer, len(sides))
	_ = fanOut(len(sides), meshCheckParallelism, func(i int) error {
		seen[i] = d.peerView(ctx, sides[i], isAmbient(in.Dataplane))
		return nil
	})
	// judged[0] is the cluster's word on its peers, judged[1+i] peer i's on it.
	judged := make([]MeshCheckState, len(sides))
	_ = fanOut(len(sides), meshCheckParallelism, func(i int) error {
		if i == 0 {
			judged[0] = d.judgeCluster(ctx, in, seen[1:])
			return nil
		}
		// The peer's istiods are judged against its live cacerts here;
		// the peer's own MeshCheck pins those to what ristio wrote.
		asked := MeshCheckArgs{Cluster: in.Peers[i-1].Cluster, Peers: []MeshCheckPeer{self}, Revision: in.Revision, Revisions: in.Revisions, Dataplane: in.Dataplane}
		judged[i] = d.judgeCluster(ctx, asked, seen[:1])
		return nil
	})
	state := judged[0]
	for i, peer := range in.Peers {
		state.PeerStatus[peer.Cluster.Name] = judged[1+i].Status[in.Cluster.Name]
		state.Healthy = state.Healthy && judged[1+i].Healthy
	}
	return state
}

// asPeer is the checked cluster as its peers' istiods must see it.
func (in MeshCheckArgs) asPeer() MeshCheckPeer {
	network := deref(in.Network)
	if network == "" {
		network = naming.DefaultNetwork(in.Cluster.Name)
	}
	return MeshCheckPeer{Cluster: in.Cluster, Network: network, GatewayAddress: in.GatewayAddress}
}

// judgeCluster is checkCluster with the peers' side already read (views[i]
// is in.Peers[i]), so checkMesh reads each cluster's side once, not once per
// peer.
func (d Deps) judgeCluster(ctx context.Context, in MeshCheckArgs, views []meshcheck.Peer) MeshCheckState {
	// Istiods is a required output: empty, not nil, when none could be asked.
	state := MeshCheckState{MeshCheckArgs: in, Status: map[string]string{}, PeerStatus: map[string]string{}, Istiods: []string{}}
	exp := meshcheck.Expect{Cluster: in.Cluster.Name, Now: d.Now(), Peers: views}
	var istiods []meshcheck.Istiod
	fail := func(format string, a ...any) MeshCheckState {
		for _, peer := range in.Peers {
			state.Status[peer.Cluster.Name] = fmt.Sprintf(format, a...)
		}
		if len(in.Peers) == 0 {
			state.Status[in.Cluster.Name] = fmt.Sprintf(format, a...)
		}
		return state
	}
	client, err := d.kubeClient(in.Cluster)
	if err != nil {
		return fail("cannot reach %s: %v", in.Cluster.Name, err)
	}
	// cacerts is never read (it holds the CA key): the intermediate and
	// roots come from ristio's state when the check has them, else from what
	// istiod serves and distributes.
	exp.DistributedRootsPEM = d.distributedRoots(ctx, client)
	exp.OwnRootCertPEM = exp.DistributedRootsPEM
	if in.RootCertPEM != nil {
		exp.OwnRootCertPEM = []byte(*in.RootCertPEM)
	}
	if exp.OwnRootCertPEM == nil {
		return fail("%s has no %s/%s yet: istiod has not distributed its roots", in.Cluster.Name, naming.IstioNamespace, meshcheck.DistributedRootsConfigMap)
	}
	if in.CACertPEM != nil {
		exp.IntermediatePEM = []byte(*in.CACertPEM)
	}
	if istiods, err = d.Istiods.Ask(ctx, in.Cluster.key(), client, deref(in.Revision)); err != nil {
		return fail("cannot list istiod pods in %s: %v", in.Cluster.Name, err)
	}
	for _, rev := range in.Revisions {
		if !slices.ContainsFunc(istiods, func(i meshcheck.Istiod) bool { return i.Revision == naming.RevisionLabelValue(istioRevision(rev)) }) {
			return fail("%s has no running istiod of revision %s", in.Cluster.Name, rev)
		}
	}
	rep := meshcheck.Evaluate(exp, istiods)
	state.Status = rep.Peers
	state.Healthy = rep.Healthy()
	for _, i := range istiods {
		state.Istiods = append(state.Istiods, i.Pod)
	}
	slices.Sort(state.Istiods)
	return state
}

// distributedRoots reads the roots istiod hands to workloads in its own
// namespace; nil (no check) until istiod first writes them.
func (d Deps) distributedRoots(ctx context.Context, client *kube.Client) []byte {
	cm, err := client.Get(ctx, configMapGVK, naming.IstioNamespace, meshcheck.DistributedRootsConfigMap)
	if err != nil || cm == nil {
		return nil
	}
	roots, _, _ := unstructured.NestedString(cm.Object, "data", pki.RootCertFile)
	if roots == "" {
		return nil
	}
	return []byte(roots)
}

// peerView reads what the checked cluster's istiod is judged against: the
// roots the peer trusts and where its gateway is. An ambient peer's gateway
// is its east-west Gateway, which must be Programmed; istiod lists it on
// the HBONE port.
func (d Deps) peerView(ctx context.Context, peer MeshCheckPeer, ambient bool) meshcheck.Peer {
	v := meshcheck.Peer{Name: peer.Cluster.Name, Network: peer.Network, GatewayAddress: deref(peer.GatewayAddress), Ambient: ambient}
	client, err := d.kubeClient(peer.Cluster)
	if err != nil {
		v.Problem = fmt.Sprintf("cannot reach %s to read the roots it trusts: %v", v.Name, err)
		return v
	}
	// The roots the peer's istiod hands its workloads: what they trust.
	if v.RootCertPEM = d.distributedRoots(ctx, client); v.RootCertPEM == nil {
		v.Problem = fmt.Sprintf("%s has no %s/%s yet: its istiod has not distributed the roots it trusts", v.Name, naming.IstioNamespace, meshcheck.DistributedRootsConfigMap)
	}
	addProblem := func(problem string) { v.Problem = strings.TrimPrefix(v.Problem+"; ", "; ") + problem }
	if ambient {
		gw, err := client.Get(ctx, gatewayapi.GatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName)
		problem, addrs := ambientGatewayProblem(v.Name, gw, err)
		if problem != "" {
			addProblem(problem)
		}
		if v.GatewayAddress == "" && len(addrs) > 0 {
			v.GatewayAddress = addrs[0]
		}
	}
	if v.GatewayAddress == "" && !ambient {
		addr, err := client.ServiceAddress(ctx, naming.IstioNamespace, naming.EastWestService)
		if err != nil || addr == "" {
			addProblem(fmt.Sprintf("%s's east-west gateway has no address yet", v.Name))
		}
		v.GatewayAddress = addr
	}
	v.GatewayIPs = istiod.GatewayIPs(ctx, v.GatewayAddress)
	v.Services = servedServices(ctx, client)
	return v
}

// ambientGatewayProblem judges a cluster's east-west Gateway as read (gw
// nil when it is absent): why it is not Programmed, empty when it is, and
// the addresses its status gives.
func ambientGatewayProblem(cluster string, gw *unstructured.Unstructured, err error) (string, []string) {
	ref := naming.IstioNamespace + "/" + gatewayapi.EastWestGatewayName
	switch {
	case err != nil:
		return fmt.Sprintf("cannot read %s's east-west Gateway %s: %v", cluster, ref, err), nil
	case gw == nil:
		return fmt.Sprintf("%s has no east-west Gateway %s", cluster, ref), nil
	}
	s := gatewayapi.ReadGatewayStatus(gw)
	if !s.Programmed {
		why := ""
		if s.Reason != "" || s.Message != "" {
			why = fmt.Sprintf(" (%s: %s)", s.Reason, s.Message)
		}
		return fmt.Sprintf("%s's east-west Gateway %s is not Programmed%s", cluster, ref, why), s.Addresses
	}
	if len(s.Addresses) == 0 {
		return fmt.Sprintf("%s's east-west Gateway %s is Programmed but has no address yet", cluster, ref), nil
	}
	return "", s.Addresses
}

// discoveryProbes select the services whose endpoints a peer's istiods must
// have discovered from a cluster, where the cluster serves them: istiod's
// own (every cluster of the mesh has one) and the sample's.
var discoveryProbes = []struct{ namespace, selector string }{
	{naming.IstioNamespace, meshcheck.IstiodSelector},
	{naming.SampleNamespace, "app=" + sample.HelloWorld},
}

// servedServices lists what the cluster serves of discoveryProbes. One that
// cannot be listed is left out: the check then asks less, never wrongly.
func servedServices(ctx context.Context, client *kube.Client) []meshcheck.Service {
	var out []meshcheck.Service
	for _, probe := range discoveryProbes {
		names, err := client.ServedServices(ctx, probe.namespace, probe.selector)
		if err != nil {
			continue
		}
		for _, n := range names {
			out = append(out, meshcheck.Service{Namespace: probe.namespace, Name: n})
		}
	}
	return out
}

// Invoke checks every cluster against all the others.
func (f *CheckMesh) Invoke(ctx context.Context, req infer.FunctionRequest[CheckMeshArgs]) (infer.FunctionResponse[CheckMeshResult], error) {
	in := req.Input
	if len(in.Clusters) == 0 {
		return infer.FunctionResponse[CheckMeshResult]{}, errors.New("checkMesh: clusters must list at least one cluster")
	}
	if t := in.TimeoutSeconds; t != nil && *t <= 0 {
		return infer.FunctionResponse[CheckMeshResult]{}, fmt.Errorf("checkMesh: timeoutSeconds must be positive, got %d", *t)
	}
	if msg := dataplaneProblem(in.Dataplane); msg != "" {
		return infer.FunctionResponse[CheckMeshResult]{}, fmt.Errorf("checkMesh: dataplane %s", msg)
	}
	res := CheckMeshResult{Status: map[string]map[string]string{}, Healthy: true}
	peers := make([]MeshCheckPeer, len(in.Clusters))
	for i, c := range in.Clusters {
		if err := naming.ValidateDNSLabel(c.Name); err != nil {
			return infer.FunctionResponse[CheckMeshResult]{}, fmt.Errorf("checkMesh: clusters[%d].name: %w", i, err)
		}
		network := deref(c.Network)
		if network == "" {
			network = naming.DefaultNetwork(c.Name)
		}
		peers[i] = MeshCheckPeer{Cluster: c.connection(), Network: network, GatewayAddress: c.GatewayAddress}
	}
	ctx, cancel := withTimeout(ctx, in.TimeoutSeconds)
	defer cancel()
	start := time.Now()
	views := make([]meshcheck.Peer, len(in.Clusters))
	_ = fanOut(len(peers), meshCheckParallelism, func(i int) error {
		views[i] = f.deps.peerView(ctx, peers[i], isAmbient(in.Dataplane))
		return nil
	})
	states := make([]MeshCheckState, len(in.Clusters))
	_ = fanOut(len(in.Clusters), meshCheckParallelism, func(i int) error {
		others := slices.Delete(slices.Clone(peers), i, i+1)
		otherViews := slices.Delete(slices.Clone(views), i, i+1)
		states[i] = f.deps.judgeCluster(ctx, MeshCheckArgs{Cluster: in.Clusters[i].connection(), Peers: others, Revision: in.Revision, Dataplane: in.Dataplane}, otherViews)
		return nil
	})
	for i, c := range in.Clusters {
		res.Status[c.Name] = states[i].Status
		res.Healthy = res.Healthy && states[i].Healthy
		res.Problems = append(res.Problems, stateProblems(c.Name, states[i])...)
	}
	if ctx.Err() != nil {
		res.Healthy = false
		res.Problems = append(res.Problems, fmt.Sprintf("checkMesh stopped after %s (timeoutSeconds): the problems above may come from questions it cut short", time.Since(start).Round(time.Second)))
	}
	return infer.FunctionResponse[CheckMeshResult]{Output: res}, nil
}

func (c CheckMeshCluster) connection() ClusterConnection {
	return ClusterConnection{Name: c.Name, Kubeconfig: c.Kubeconfig, KubeconfigFile: c.KubeconfigFile, Context: c.Context}
}
