// Package meshcheck judges, from what istiod itself reports, whether one
// cluster's control plane works as part of the mesh: every peer synced from
// its remote secret (/debug/clusterz), the services every peer serves
// discovered with their endpoints (/debug/endpointShardz), every peer's
// network gateway known at the expected address (/debug/networkz), and the
// certificate istiod serves on 15012 chaining through the cluster's
// intermediate to a root every peer trusts.
//
// It is pure: the caller fetches istiod's answers (see pkg/kube's DialPod)
// and the peers' roots; Evaluate only compares.
package meshcheck

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/istioissues"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/pki"
)

// Synced is a peer's status when every istiod of the cluster passed every check.
const Synced = "synced"

// Istio's debug endpoints and the port it serves them on, as istioctl uses them.
const (
	ClusterzPath = "/debug/clusterz"
	NetworkzPath = "/debug/networkz"
	// EndpointShardzPath lists, per service and namespace, the endpoints
	// istiod holds from each cluster (shard "<provider>/<cluster>").
	EndpointShardzPath = "/debug/endpointShardz"
	// VersionPath gives the istiod build's version.
	VersionPath    = "/version"
	MonitoringPort = 15014
	XDSTLSPort     = 15012
	// MonitoringPortAnnotation overrides MonitoringPort on an istiod pod.
	MonitoringPortAnnotation = "prometheus.io/port"
	// IstiodSelector selects istiod pods of every revision.
	IstiodSelector = "app=istiod"
	// RevisionLabel holds an istiod pod's revision.
	RevisionLabel = "istio.io/rev"
	// DistributedRootsConfigMap is where istiod writes, in every namespace,
	// the roots workloads trust (key root-cert.pem).
	DistributedRootsConfigMap = "istio-ca-root-cert"
)

// Peer is what a cluster's istiod must know of another cluster.
type Peer struct {
	Name    string
	Network string
	// GatewayAddress is where the peer's east-west gateway is reached: an IP
	// or a hostname. Empty when it is not known (no check is made then).
	GatewayAddress string
	// GatewayIPs are the addresses a hostname resolves to; istiod resolves
	// hostnames of network gateways itself.
	GatewayIPs []string
	// Ambient says the peer's gateway is an ambient east-west Gateway:
	// istiod lists it with its HBONE port (naming.HBONEPort) rather than the
	// sidecar gateway's mTLS port (naming.CrossNetworkPort).
	Ambient bool
	// RootCertPEM is the peer's cacerts root-cert.pem: the roots it trusts.
	RootCertPEM []byte
	// Services are what the peer serves with ready endpoints and the
	// cluster's istiods must have discovered from it; none skips the check.
	Services []Service
	// Problem is why the peer's side could not be read (its API server or
	// cacerts); it is reported as is and the root check skipped.
	Problem string
}

// Service is a Kubernetes Service by namespace and name.
type Service struct{ Namespace, Name string }

func (s Service) String() string { return s.Name + "." + s.Namespace }

// Expect is what the cluster's istiods are judged against.
type Expect struct {
	Cluster string
	Peers   []Peer
	// IntermediatePEM is the cluster's intermediate (cacerts ca-cert.pem,
	// as ristio wrote it); nil judges the chain through the intermediates
	// istiod presents.
	IntermediatePEM []byte
	// OwnRootCertPEM is the cluster's own cacerts root-cert.pem.
	OwnRootCertPEM []byte
	// DistributedRootsPEM is what istiod hands to workloads as the roots to
	// trust (istio-system/istio-ca-root-cert); it must hold the same roots as
	// OwnRootCertPEM once istiod has loaded them. Nil skips the check.
	DistributedRootsPEM []byte
	// Now is when certificates must be valid.
	Now time.Time
}

// Istiod is what one istiod pod answered. An error in a field means that
// question could not be asked; Evaluate reports it.
type Istiod struct {
	Pod      string
	Revision string
	Clusterz []byte
	Networkz []byte
	// ServingChain is the certificate chain istiod presented on 15012.
	ServingChain []*x509.Certificate
	Err          error // reaching the pod failed altogether
	// EndpointShardz is istiod's /debug/endpointShardz.
	EndpointShardz    []byte
	ClusterzErr       error
	NetworkzErr       error
	EndpointShardzErr error
	ServingErr        error
	// Version returns what istiod's /version says of its build, "" when it
	// cannot be read; asked only to explain a failure, and may be nil.
	Version func() string
	// Says returns the last lines istiod logged about a peer (its cluster ID
	// or secret name), for failure messages; may be nil.
	Says func(peer string) string
}

// clusterInfo is one entry of /debug/clusterz (Istio's cluster.DebugInfo).
type clusterInfo struct {
	ID         string `json:"id"`
	SecretName string `json:"secretName"`
	SyncStatus string `json:"syncStatus"`
}

// networkGateway is one entry of /debug/networkz (Istio's model.NetworkGateway).
type networkGateway struct {
	Network   string
	Cluster   string
	Addr      string
	Port      uint32
	HBONEPort uint32
}

// Report is the verdict for one cluster: each peer's status, Synced or the
// reasons it is not. Problems of the cluster itself (no istiod, a serving
// certificate that does not chain to its own intermediate) are given to every
// peer, since no peer can be reached through it; in a mesh of one cluster
// they appear under the cluster's own name.
type Report struct {
	Peers map[string]string
}

// Healthy says whether every peer is Synced.
func (r Report) Healthy() bool {
	for _, s := range r.Peers {
		if s != Synced {
			return false
		}
	}
	return true
}

// Problems lists "<cluster>: <reason>" for every peer that is not synced, in
// peer order, e.g. "cluster1: istiod-5c9d cannot sync cluster2 from
// istio-remote-secret-cluster2 (status timeout)".
func (r Report) Problems(cluster string) []string {
	var out []string
	for _, peer := range slices.Sorted(maps.Keys(r.Peers)) {
		if s := r.Peers[peer]; s != Synced {
			out = append(out, cluster+": "+s)
		}
	}
	return out
}

// Evaluate judges the istiods of one cluster. A cluster without peers is
// healthy once its istiods answer and serve a good certificate.
func Evaluate(exp Expect, istiods []Istiod) Report {
	reasons := map[string][]string{}
	addAll := func(reason string) {
		for _, p := range exp.Peers {
			reasons[p.Name] = append(reasons[p.Name], reason)
		}
		if len(exp.Peers) == 0 { // a mesh of one: its own istiod is still judged
			reasons[exp.Cluster] = append(reasons[exp.Cluster], reason)
		}
	}
	if len(istiods) == 0 {
		addAll("no running istiod pod in " + naming.IstioNamespace)
	}
	for _, p := range exp.Peers {
		if p.Problem != "" {
			reasons[p.Name] = append(reasons[p.Name], p.Problem)
		}
	}
	if r := distributedRootsReason(exp); r != "" {
		addAll(r)
	}
	for _, d := range istiods {
		who := d.Pod
		if d.Err != nil {
			addAll(fmt.Sprintf("%s cannot be asked: %v", who, d.Err))
			continue
		}
		for _, p := range exp.Peers {
			if r := syncReason(d, p); r != "" {
				reasons[p.Name] = append(reasons[p.Name], who+" "+r)
			} else if r := discoveryReason(d, p); r != "" {
				reasons[p.Name] = append(reasons[p.Name], who+" "+r)
			}
			if r := gatewayReason(d, p); r != "" {
				reasons[p.Name] = append(reasons[p.Name], who+" "+r)
			}
		}
		for _, r := range servingReasons(exp, d) {
			if r.peer == "" {
				addAll(who + " " + r.reason)
			} else {
				reasons[r.peer] = append(reasons[r.peer], who+" "+r.reason)
			}
		}
	}
	rep := Report{Peers: map[string]string{}}
	if rs := reasons[exp.Cluster]; len(rs) > 0 {
		rep.Peers[exp.Cluster] = strings.Join(rs, "; ")
	}
	for _, p := range exp.Peers {
		if rs := reasons[p.Name]; len(rs) > 0 {
			rep.Peers[p.Name] = strings.Join(rs, "; ")
		} else {
			rep.Peers[p.Name] = Synced
		}
	}
	return rep
}

// syncReason is why istiod has not synced peer from its remote secret, or "".
func syncReason(d Istiod, p Peer) string {
	secret := naming.IstioNamespace + "/" + naming.RemoteSecret(p.Name)
	if d.ClusterzErr != nil {
		return fmt.Sprintf("did not answer %s: %v%s", ClusterzPath, d.ClusterzErr, storeDeadlockHint(d.ClusterzErr))
	}
	var clusters []clusterInfo
	if err := json.Unmarshal(d.Clusterz, &clusters); err != nil {
		return fmt.Sprintf("answered %s with something unexpected: %v", ClusterzPath, err)
	}
	for _, c := range clusters {
		if c.ID != p.Name {
			continue
		}
		switch {
		case c.SecretName != secret:
			return fmt.Sprintf("syncs %s from %s, not from %s", p.Name, c.SecretName, secret)
		case c.SyncStatus != Synced:
			return withSays(fmt.Sprintf("cannot sync %s from %s (status %s%s)", p.Name, naming.RemoteSecret(p.Name), c.SyncStatus, apiServerHint(c.SyncStatus)), d, p)
		}
		return ""
	}
	return withSays(fmt.Sprintf("has not loaded %s from %s (not listed in %s)", p.Name, naming.RemoteSecret(p.Name), ClusterzPath), d, p)
}

// endpointShards is one service's entry of /debug/endpointShardz in a
// namespace (Istio's model.EndpointShards): endpoints by shard, keyed
// "<provider>/<cluster>".
type endpointShards struct {
	Shards map[string][]json.RawMessage
}

// discoveryReason is why istiod, although it lists peer as synced, would
// send no traffic to it: it holds none of the endpoints of a service the
// peer serves. That is what remote secrets exist for, and what some Istio
// releases lose when a secret is rewritten while /debug/clusterz goes on
// saying synced.
func discoveryReason(d Istiod, p Peer) string {
	if len(p.Services) == 0 {
		return ""
	}
	if d.EndpointShardzErr != nil {
		return fmt.Sprintf("did not answer %s: %v", EndpointShardzPath, d.EndpointShardzErr)
	}
	var shardz map[string]map[string]endpointShards
	if err := json.Unmarshal(d.EndpointShardz, &shardz); err != nil {
		return fmt.Sprintf("answered %s with something unexpected: %v", EndpointShardzPath, err)
	}
	var missing []string
	for _, svc := range p.Services {
		if !holdsEndpoints(shardz, svc, p.Name) {
			missing = append(missing, svc.String())
		}
	}
	if len(missing) == 0 {
		return ""
	}
	reason := fmt.Sprintf("lists %s as synced but holds none of its endpoints of %s", p.Name, strings.Join(missing, ", "))
	version := ""
	if d.Version != nil {
		version = d.Version()
	}
	if known := istioissues.Describe(version, istioissues.Affected(version, istioissues.SecretRewrite)); known != "" {
		return reason + " (" + known + "; restarting istiod restores them)"
	}
	return reason + fmt.Sprintf(" (do discoverySelectors or exportTo hide them, or can %s's remote secret not read endpoint slices?)", p.Name)
}

// holdsEndpoints says whether shardz has an endpoint of svc from cluster.
// Its keys are hostnames; the service's is <name>.<namespace>.svc.<domain>.
func holdsEndpoints(shardz map[string]map[string]endpointShards, svc Service, cluster string) bool {
	prefix := svc.Name + "." + svc.Namespace + ".svc."
	for host, byNamespace := range shardz {
		if !strings.HasPrefix(host, prefix) {
			continue
		}
		for key, eps := range byNamespace[svc.Namespace].Shards {
			if _, c, ok := strings.Cut(key, "/"); ok && c == cluster && len(eps) > 0 {
				return true
			}
		}
	}
	return false
}

// storeDeadlockHint explains a /debug/clusterz that never answers: in Istio
// builds before istio/istio#60316 (May 2026), istiod's store of remote
// clusters can deadlock when remote secrets are added while others are
// still syncing, and the endpoint waits on that store forever.
func storeDeadlockHint(err error) string {
	if !errors.Is(err, context.DeadlineExceeded) {
		return ""
	}
	return " (if it never answers while its other endpoints do, its remote-cluster store may be deadlocked, as Istio builds without the fix of istio/istio#60316 can be when remote secrets are added while others still sync; restarting istiod clears it)"
}

// apiServerHint points at the usual cause of a sync that never ends.
func apiServerHint(status string) string {
	if status == "timeout" || status == "syncing" {
		return "; is the peer's API server reachable from this cluster's istiod? if it is reached at another address, set the peer's remoteApiServer"
	}
	return ""
}

func withSays(reason string, d Istiod, p Peer) string {
	if d.Says == nil {
		return reason
	}
	if said := d.Says(p.Name); said != "" {
		return reason + ": istiod says: " + said
	}
	return reason
}

// gatewayReason is why istiod would not send traffic for the peer's network
// to its gateway, or "".
func gatewayReason(d Istiod, p Peer) string {
	if p.GatewayAddress == "" {
		return ""
	}
	if d.NetworkzErr != nil {
		return fmt.Sprintf("did not answer %s: %v", NetworkzPath, d.NetworkzErr)
	}
	var gws []networkGateway
	if err := json.Unmarshal(d.Networkz, &gws); err != nil {
		return fmt.Sprintf("answered %s with something unexpected: %v", NetworkzPath, err)
	}
	want := append([]string{p.GatewayAddress}, p.GatewayIPs...)
	wantPort, port := uint32(naming.CrossNetworkPort), func(g networkGateway) uint32 { return g.Port }
	if p.Ambient {
		wantPort, port = naming.HBONEPort, func(g networkGateway) uint32 { return g.HBONEPort }
	}
	var known []string
	for _, g := range gws {
		if g.Network != p.Network {
			continue
		}
		if port(g) == wantPort && slices.Contains(want, g.Addr) {
			return ""
		}
		known = append(known, g.Addr+":"+strconv.Itoa(int(port(g))))
	}
	have := "none"
	if len(known) > 0 {
		have = strings.Join(known, ", ")
	}
	return fmt.Sprintf("does not know %s's gateway at %s:%d on network %s (it knows %s)", p.Name, p.GatewayAddress, wantPort, p.Network, have)
}

// distributedRootsReason is why the roots istiod distributes differ from its
// cacerts root-cert.pem, or "": istiod has not (yet) loaded a new bundle.
func distributedRootsReason(exp Expect) string {
	if exp.DistributedRootsPEM == nil {
		return ""
	}
	want, errW := pki.Certificates(exp.OwnRootCertPEM)
	have, errH := pki.Certificates(exp.DistributedRootsPEM)
	if errW != nil || errH != nil {
		return fmt.Sprintf("cannot compare %s with cacerts root-cert.pem: %v", DistributedRootsConfigMap, errors.Join(errW, errH))
	}
	if !pki.SameCertificates(exp.OwnRootCertPEM, exp.DistributedRootsPEM) {
		return fmt.Sprintf("istiod has not loaded cacerts root-cert.pem: it distributes %d root(s) in %s/%s, root-cert.pem holds %d (istiod reloads a changed root-cert.pem only with ISTIO_MULTIROOT_MESH=true)",
			len(have), naming.IstioNamespace, DistributedRootsConfigMap, len(want))
	}
	return ""
}

type servingReason struct{ peer, reason string }

// servingReasons checks the 15012 certificate: it must chain through the
// cluster's intermediate to the cluster's own root (else every peer is
// affected) and to a root each peer trusts.
func servingReasons(exp Expect, d Istiod) []servingReason {
	if d.ServingErr != nil {
		return []servingReason{{reason: fmt.Sprintf("gave no certificate on %d: %v", XDSTLSPort, d.ServingErr)}}
	}
	if len(d.ServingChain) == 0 {
		return []servingReason{{reason: fmt.Sprintf("gave no certificate on %d", XDSTLSPort)}}
	}
	intermediates := d.ServingChain[1:]
	if len(exp.IntermediatePEM) > 0 {
		var err error
		if intermediates, err = pki.Certificates(exp.IntermediatePEM); err != nil {
			return []servingReason{{reason: "cannot be judged: the cluster's intermediate: " + err.Error()}}
		}
	}
	leaf := d.ServingChain[0]
	// Only the cluster's intermediate may link the leaf to a root: a
	// certificate from another CA must not pass.
	verify := func(rootsPEM []byte) error { return pki.VerifyChain(leaf, intermediates, rootsPEM, exp.Now) }
	if err := verify(exp.OwnRootCertPEM); err != nil {
		return []servingReason{{reason: fmt.Sprintf("serves on %d a certificate that does not chain through this cluster's current intermediate to its root-cert.pem (is istiod using the plugged-in cacerts, and has it reloaded them?): %v", XDSTLSPort, err)}}
	}
	var out []servingReason
	for _, p := range exp.Peers {
		if p.Problem != "" {
			continue
		}
		if err := verify(p.RootCertPEM); err != nil {
			out = append(out, servingReason{peer: p.Name, reason: fmt.Sprintf("serves on %d a certificate that %s's root-cert.pem does not trust: %v", XDSTLSPort, p.Name, err)})
		}
	}
	return out
}
