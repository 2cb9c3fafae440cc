package provider

import (
	"fmt"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	ristio "github.com/ristio/pulumi-ristio"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/sample"
)

// Child resource handles: only the outputs the component reads.
type (
	rootCAResource struct {
		pulumi.CustomResourceState
		CertPEM pulumi.StringOutput `pulumi:"certPem"`
		KeyPEM  pulumi.StringOutput `pulumi:"keyPem"`
	}
	clusterCAResource struct {
		pulumi.CustomResourceState
		CertPEM      pulumi.StringOutput `pulumi:"certPem"`
		KeyPEM       pulumi.StringOutput `pulumi:"keyPem"`
		CertChainPEM pulumi.StringOutput `pulumi:"certChainPem"`
		NotAfter     pulumi.StringOutput `pulumi:"notAfter"`
	}
	gatewayResource struct {
		pulumi.CustomResourceState
		Address pulumi.StringOutput `pulumi:"address"`
	}
	meshCheckResource struct {
		pulumi.CustomResourceState
		Status     pulumi.StringMapOutput `pulumi:"status"`
		PeerStatus pulumi.StringMapOutput `pulumi:"peerStatus"`
	}
	remoteSecretResource struct {
		pulumi.CustomResourceState
		AppliedChecksum pulumi.StringOutput `pulumi:"appliedChecksum"`
	}
	remoteSecretSetResource struct {
		pulumi.CustomResourceState
		Secrets pulumi.StringMapMapOutput `pulumi:"secrets"`
	}
	plainResource struct{ pulumi.CustomResourceState }
)

// remoteSecretHandle is the resource holding one remote secret, and the
// checksum of what it last wrote there.
type remoteSecretHandle struct {
	resource pulumi.Resource
	checksum pulumi.StringOutput
}

// The tokens the children are registered under, from their resources.
var (
	rootCAToken       = tokenOf(infer.Resource(&RootCA{}))
	clusterCAToken    = tokenOf(infer.Resource(&ClusterCA{}))
	caCertsToken      = tokenOf(infer.Resource(&CACerts{}))
	controlPlaneToken = tokenOf(infer.Resource(&IstioControlPlane{}))
	gatewayToken      = tokenOf(infer.Resource(&EastWestGateway{}))
	ambientGWToken    = tokenOf(infer.Resource(&AmbientEastWestGateway{}))
	gatewayCRDsToken  = tokenOf(infer.Resource(&GatewayAPICRDs{}))
	nodeAgentsToken   = tokenOf(infer.Resource(&AmbientNodeAgents{}))
	remoteSecretToken = tokenOf(infer.Resource(&RemoteSecret{}))
	secretSetToken    = tokenOf(infer.Resource(&RemoteSecretSet{}))
	helloWorldToken   = tokenOf(infer.Resource(&HelloWorld{}))
	meshCheckToken    = tokenOf(infer.Resource(&MeshCheck{}))
	revisionTagToken  = tokenOf(infer.Resource(&RevisionTag{}))
)

// meshBuilder registers one mesh's children.
type meshBuilder struct {
	ctx    *pulumi.Context
	name   string
	args   MultiClusterMeshArgs
	parent pulumi.ResourceOption
	// identity marks everything the children write in the clusters.
	identity pulumi.StringInput
}

// newMultiClusterMesh constructs the component. Every input known now is
// validated, brought roots against d.Now, before the first child is
// registered.
func (d Deps) newMultiClusterMesh(ctx *pulumi.Context, name string, args MultiClusterMeshArgs, opts ...pulumi.ResourceOption) (*MultiClusterMesh, error) {
	if err := validateMesh(args, d.Now()); err != nil {
		return nil, err
	}
	identity, err := naming.NewMeshIdentity(ctx.Project(), ctx.Stack(), name)
	if err != nil {
		return nil, err
	}
	comp := &MultiClusterMesh{}
	if err := ctx.RegisterComponentResource(ristio.MeshToken, name, comp, opts...); err != nil {
		return nil, err
	}
	b := &meshBuilder{ctx: ctx, name: name, args: checkWhenKnown(args), parent: pulumi.Parent(comp), identity: pulumi.String(string(identity))}
	if err := b.build(comp); err != nil {
		return nil, err
	}
	return comp, nil
}

func (b *meshBuilder) build(comp *MultiClusterMesh) error {
	roots, err := b.rootCAs()
	if err != nil {
		return err
	}
	comp.RootCertPEM = roots.signer.CertPEM
	comp.RootKeyPEM = pulumi.ToSecret(roots.signer.KeyPEM).(pulumi.StringOutput)
	expiry := pulumi.StringMap{}

	n := len(b.args.Clusters)
	conns := make([]pulumi.Map, n)
	// planes[i] is what stands for cluster i's control plane: its one
	// IstioControlPlane, or, with revisions, the default tag that follows
	// every revision's.
	planes := make([]pulumi.Resource, n)
	gateways := make([]*gatewayResource, n)
	cas := make([]*clusterCAResource, n)
	addresses, networks := pulumi.StringMap{}, pulumi.StringMap{}
	for i, c := range b.args.Clusters {
		conns[i] = b.connection(c)
	}
	// Every cacerts guards the step that drops a root with every cluster.
	mesh := pulumi.Array{}
	for _, conn := range conns {
		mesh = append(mesh, conn)
	}
	for i, c := range b.args.Clusters {
		networks[c.Name] = pulumi.String(clusterNetwork(c))
		ca, err := b.clusterCA(c, conns[i], roots)
		if err != nil {
			return err
		}
		expiry[c.Name] = ca.NotAfter
		plane, gw, err := b.cluster(i, c, conns[i], mesh, ca, roots)
		if err != nil {
			return err
		}
		planes[i], gateways[i] = plane, gw
		cas[i] = ca
		addresses[c.Name] = gw.Address
	}
	secrets, err := b.remoteSecrets(conns, planes)
	if err != nil {
		return err
	}
	comp.GatewayAddresses = addresses.ToStringMapOutput()
	comp.Networks = networks.ToStringMapOutput()
	comp.IntermediateExpiry = expiry.ToStringMapOutput()
	comp.MeshStatus = pulumi.StringMapMap{}.ToStringMapMapOutput()
	if b.args.Verify == nil || *b.args.Verify {
		checks := make([]*meshCheckResource, n)
		for i := range b.args.Clusters {
			check, err := b.meshCheck(i, conns, planes, gateways, secrets, cas[i], roots)
			if err != nil {
				return err
			}
			checks[i] = check
		}
		comp.MeshStatus = b.meshStatus(checks)
	}
	return nil
}

// meshCheck registers cluster i's MeshCheck, which checks it with every
// cluster before it, both ways: each pair is checked once, and a cluster
// added at the end changes no other cluster's check. It runs once
// everything those istiods must see exists: the control planes and gateways
// (whose addresses are inputs) of both ends, and the remote secrets between
// them.
func (b *meshBuilder) meshCheck(i int, conns []pulumi.Map, planes []pulumi.Resource, gateways []*gatewayResource, secrets [][]remoteSecretHandle, ca *clusterCAResource, roots meshRoots) (*meshCheckResource, error) {
	c := b.args.Clusters[i]
	deps := []pulumi.Resource{planes[i], gateways[i]}
	peers := pulumi.Array{}
	for j, peer := range b.args.Clusters[:i] {
		p := newProps[MeshCheckPeer]()
		p.set(&p.of.Cluster, conns[j])
		p.set(&p.of.Network, pulumi.String(clusterNetwork(peer)))
		p.set(&p.of.GatewayAddress, gateways[j].Address)
		// A rewrite of either secret makes the check run again, and prove
		// that each istiod still holds the other's endpoints.
		p.set(&p.of.RemoteSecretChecksums, pulumi.StringArray{secrets[j][i].checksum, secrets[i][j].checksum})
		peers = append(peers, p.m)
		deps = append(deps, planes[j], gateways[j], secrets[i][j].resource, secrets[j][i].resource)
	}
	// The cacerts istiod must have loaded: a rotation step changes them, so
	// the check runs again and waits for istiod to reload.
	p := newProps[MeshCheckArgs]()
	p.set(&p.of.Cluster, conns[i])
	p.set(&p.of.Network, pulumi.String(clusterNetwork(c)))
	p.set(&p.of.GatewayAddress, gateways[i].Address)
	p.set(&p.of.Peers, peers)
	p.set(&p.of.CACertPEM, ca.CertPEM)
	p.set(&p.of.RootCertPEM, roots.bundle)
	p.set(&p.of.Revision, optString(b.args.Revision))
	// With more than one revision, each must answer: adding a canary
	// checks it, removing one checks what is left.
	if len(b.args.Revisions) > 1 {
		revs := pulumi.StringArray{}
		for _, r := range b.args.Revisions {
			revs = append(revs, pulumi.String(r.Name))
		}
		p.set(&p.of.Revisions, revs)
	}
	p.set(&p.of.TimeoutSeconds, optInt(b.args.TimeoutSeconds))
	// Only ambient is said: a sidecar mesh's checks keep the inputs they had.
	if isAmbient(b.args.Dataplane) {
		p.set(&p.of.Dataplane, pulumi.String(dataplaneAmbient))
	}
	check := &meshCheckResource{}
	err := b.ctx.RegisterResource(meshCheckToken, b.name+"-"+c.Name+"-check", p.m, check,
		b.parent, pulumi.DependsOn(deps))
	return check, err
}

// meshStatus is cluster → peer → what the cluster's istiods say of the peer,
// gathered from the checks: check i holds cluster i's word on the clusters
// before it (status) and theirs on cluster i (peerStatus).
func (b *meshBuilder) meshStatus(checks []*meshCheckResource) pulumi.StringMapMapOutput {
	outs := make([]any, 0, 2*len(checks))
	for _, c := range checks {
		outs = append(outs, c.Status, c.PeerStatus)
	}
	clusters := b.args.Clusters
	return pulumi.All(outs...).ApplyT(func(v []any) map[string]map[string]string {
		all := map[string]map[string]string{}
		for _, c := range clusters {
			all[c.Name] = map[string]string{}
		}
		for i, c := range clusters {
			for peer, s := range v[2*i].(map[string]string) {
				all[c.Name][peer] = s
			}
			for peer, s := range v[2*i+1].(map[string]string) {
				all[peer][c.Name] = s
			}
		}
		return all
	}).(pulumi.StringMapMapOutput)
}

// meshRoots are the mesh's RootCAs.
type meshRoots struct {
	entries []MeshRoot
	signer  *rootCAResource
	// extras are the certificates of every root but the signer, in order.
	extras pulumi.StringArray
	// bundle is root-cert.pem: the signer, then extras.
	bundle pulumi.StringOutput
}

// rootCAs registers one RootCA per root entry.
func (b *meshBuilder) rootCAs() (meshRoots, error) {
	cert := b.args.Certificate
	out := meshRoots{entries: rootEntries(cert)}
	brought := checkedRootCerts(out.entries)
	var all []any
	for i, r := range out.entries {
		p := newProps[CertificateArgs]()
		p.set(&p.of.ValidityHours, optInt(r.ValidityHours))
		p.set(&p.of.KeyType, optString(r.KeyType))
		p.set(&p.of.RSABits, optInt(r.RSABits))
		if cert != nil {
			p.set(&p.of.SanSuffix, optString(cert.SanSuffix))
		}
		p.secret(&p.of.Password, r.keyPassword(cert))
		if r.RootCertPEM != nil {
			p.secret(&p.of.RootCertPEM, brought.Index(pulumi.Int(i)))
		}
		p.secret(&p.of.RootKeyPEM, r.RootKeyPEM)
		root := &rootCAResource{}
		if err := b.ctx.RegisterResource(rootCAToken, rootCAName(b.name, r.Name), p.m, root, b.parent); err != nil {
			return out, err
		}
		if i == 0 {
			out.signer = root
		} else {
			out.extras = append(out.extras, root.CertPEM)
		}
		all = append(all, root.CertPEM)
	}
	out.bundle = pulumi.All(all...).ApplyT(func(certs []any) string {
		pems := make([]string, len(certs))
		for i, c := range certs {
			pems[i] = c.(string)
		}
		return string(trustBundle(pems[0], pems[1:]))
	}).(pulumi.StringOutput)
	return out, nil
}

// clusterCA registers the cluster's intermediate, signed by the first root
// and shaped by its settings.
func (b *meshBuilder) clusterCA(c MeshCluster, conn pulumi.Map, roots meshRoots) (*clusterCAResource, error) {
	signer := roots.entries[0]
	p := newProps[ClusterCAArgs]()
	p.set(&p.of.Cluster, pulumi.String(c.Name))
	p.set(&p.of.RootCertPEM, roots.signer.CertPEM)
	p.secret(&p.of.RootKeyPEM, roots.signer.KeyPEM)
	p.set(&p.of.ValidityHours, optInt(signer.ValidityHours))
	p.set(&p.of.KeyType, optString(signer.KeyType))
	p.set(&p.of.RSABits, optInt(signer.RSABits))
	if cert := b.args.Certificate; cert != nil {
		p.set(&p.of.SanSuffix, optString(cert.SanSuffix))
		p.set(&p.of.RenewBeforeHours, optInt(cert.RenewBeforeHours))
	}
	// The key the signer's RootCA exports is encrypted with this password.
	p.secret(&p.of.RootKeyPassword, signer.keyPassword(b.args.Certificate))
	if len(roots.extras) > 0 {
		p.set(&p.of.TrustedRootCertPEMs, roots.extras)
	}
	if deref(c.Adopt) {
		p.set(&p.of.AdoptFrom, conn)
	}
	ca := &clusterCAResource{}
	err := b.ctx.RegisterResource(clusterCAToken, b.name+"-"+c.Name+"-ca", p.m, ca, b.parent)
	return ca, err
}

// connection is a cluster's ClusterConnection. Kubeconfig contents are
// validated as soon as they are known, and stay secret.
func (b *meshBuilder) connection(c MeshCluster) pulumi.Map {
	p := newProps[ClusterConnection]()
	p.set(&p.of.Name, pulumi.String(c.Name))
	p.set(&p.of.KubeconfigFile, optString(c.KubeconfigFile))
	p.set(&p.of.Context, optString(c.Context))
	if c.Kubeconfig != nil {
		name, context := c.Name, deref(c.Context)
		checked := c.Kubeconfig.ToStringOutput().ApplyT(func(contents string) (string, error) {
			if err := (kubeconfig.Source{Kubeconfig: contents, Context: context}).Validate(); err != nil {
				return "", fmt.Errorf("invalid MultiClusterMesh inputs: cluster %q: kubeconfig: %w", name, err)
			}
			return contents, nil
		}).(pulumi.StringOutput)
		p.secret(&p.of.Kubeconfig, checked)
	}
	return p.m
}

// cluster registers one cluster's CA, cacerts, control plane, gateway and sample.
func (b *meshBuilder) cluster(index int, c MeshCluster, conn pulumi.Map, mesh pulumi.Array, ca *clusterCAResource, roots meshRoots) (pulumi.Resource, *gatewayResource, error) {
	prefix := b.name + "-" + c.Name
	version := b.istioVersion(c)
	timeout := b.args.TimeoutSeconds

	cacerts := &plainResource{}
	cp := newProps[CACertsArgs]()
	cp.set(&cp.of.Cluster, conn)
	cp.set(&cp.of.CACertPEM, ca.CertPEM)
	cp.secret(&cp.of.CAKeyPEM, ca.KeyPEM)
	cp.set(&cp.of.RootCertPEM, roots.signer.CertPEM)
	cp.set(&cp.of.CertChainPEM, ca.CertChainPEM)
	cp.set(&cp.of.TimeoutSeconds, optInt(timeout))
	cp.set(&cp.of.Adopt, optBool(c.Adopt))
	cp.set(&cp.of.MeshIdentity, b.identity)
	cp.set(&cp.of.MeshClusters, mesh)
	if len(roots.extras) > 0 {
		cp.set(&cp.of.ExtraRootCertPEMs, roots.extras)
	}
	if err := b.ctx.RegisterResource(caCertsToken, prefix+"-cacerts", cp.m, cacerts, b.parent); err != nil {
		return nil, nil, err
	}

	// An ambient control plane waits for the Gateway API CRDs, and goes
	// before them on destroy, so that they are checked for use once istiod
	// no longer writes objects of their kinds.
	before := []pulumi.Resource{cacerts}
	var crds pulumi.Resource
	if isAmbient(b.args.Dataplane) {
		var err error
		if crds, err = b.gatewayAPICRDs(conn, prefix); err != nil {
			return nil, nil, err
		}
		before = append(before, crds)
	}
	var plane pulumi.Resource
	var proxyRevision pulumi.StringPtrInput
	// The revision gateways and node agents follow: the mesh's, or the one
	// the default tag points at.
	revision := b.args.Revision
	if len(b.args.Revisions) == 0 {
		cp, err := b.controlPlane(c, conn, prefix+"-istio", version, b.args.Revision, before)
		if err != nil {
			return nil, nil, err
		}
		plane = cp
	} else {
		tag, err := b.revisions(c, conn, prefix, cacerts)
		if err != nil {
			return nil, nil, err
		}
		plane = tag
		def := b.defaultRevision()
		version = def.IstioVersion
		if def.Name != naming.DefaultRevision {
			proxyRevision = pulumi.String(def.Name)
			revision = &def.Name
		}
	}

	if isAmbient(b.args.Dataplane) {
		agents, err := b.nodeAgents(c, conn, prefix, version, revision, plane)
		if err != nil {
			return nil, nil, err
		}
		gw, err := b.ambientGateway(c, conn, prefix, revision, plane, crds)
		if err != nil {
			return nil, nil, err
		}
		// No sidecars to move to the tagged revision; the sample's pods
		// join the mesh through the node agents.
		return plane, gw, b.sample(index, c, conn, prefix, agents, nil)
	}

	gp := newProps[EastWestGatewayArgs]()
	gp.set(&gp.of.Cluster, conn)
	gp.set(&gp.of.Network, pulumi.String(clusterNetwork(c)))
	gp.set(&gp.of.IstioVersion, pulumi.String(version))
	b.chartProps(&gp.of.ChartSource, gp.set)
	gp.set(&gp.of.Revision, optString(b.args.Revision))
	gp.set(&gp.of.ProxyRevision, proxyRevision)
	gp.set(&gp.of.GatewayAddress, c.GatewayAddress)
	gp.set(&gp.of.WaitForAddress, optBool(b.args.WaitForGateways))
	gp.set(&gp.of.TimeoutSeconds, optInt(timeout))
	gp.set(&gp.of.Adopt, optBool(c.Adopt))
	gp.set(&gp.of.MeshIdentity, b.identity)
	if len(c.GatewayValues) > 0 {
		gp.set(&gp.of.GatewayValues, pulumi.ToMap(c.GatewayValues))
	}
	gw := &gatewayResource{}
	if err := b.ctx.RegisterResource(gatewayToken, prefix+"-eastwest", gp.m, gw,
		b.parent, pulumi.DependsOn([]pulumi.Resource{plane})); err != nil {
		return nil, nil, err
	}

	return plane, gw, b.sample(index, c, conn, prefix, plane, proxyRevision)
}

// gatewayAPICRDs registers a cluster's Gateway API CRDs.
func (b *meshBuilder) gatewayAPICRDs(conn pulumi.Map, prefix string) (pulumi.Resource, error) {
	crds := &plainResource{}
	cp := newProps[GatewayAPICRDsArgs]()
	cp.set(&cp.of.Cluster, conn)
	cp.set(&cp.of.TimeoutSeconds, optInt(b.args.TimeoutSeconds))
	cp.set(&cp.of.MeshIdentity, b.identity)
	err := b.ctx.RegisterResource(gatewayCRDsToken, prefix+"-gateway-api-crds", cp.m, crds, b.parent)
	return crds, err
}

// nodeAgents registers cluster c's istio-cni and ztunnel, at the version
// and revision of the control plane the default tag points at (plane).
func (b *meshBuilder) nodeAgents(c MeshCluster, conn pulumi.Map, prefix, version string, revision *string, plane pulumi.Resource) (pulumi.Resource, error) {
	ap := newProps[AmbientNodeAgentsArgs]()
	ap.set(&ap.of.Cluster, conn)
	ap.set(&ap.of.Network, pulumi.String(clusterNetwork(c)))
	ap.set(&ap.of.IstioVersion, pulumi.String(version))
	ap.set(&ap.of.Revision, optString(revision))
	b.chartProps(&ap.of.ChartSource, ap.set)
	ap.set(&ap.of.TimeoutSeconds, optInt(b.args.TimeoutSeconds))
	ap.set(&ap.of.MeshIdentity, b.identity)
	agents := &plainResource{}
	err := b.ctx.RegisterResource(nodeAgentsToken, prefix+"-node-agents", ap.m, agents,
		b.parent, pulumi.DependsOn([]pulumi.Resource{plane}))
	return agents, err
}

// ambientGateway registers cluster c's east-west Gateway, which istiod
// deploys once the control plane runs.
func (b *meshBuilder) ambientGateway(c MeshCluster, conn pulumi.Map, prefix string, revision *string, plane, crds pulumi.Resource) (*gatewayResource, error) {
	gp := newProps[AmbientEastWestGatewayArgs]()
	gp.set(&gp.of.Cluster, conn)
	gp.set(&gp.of.Network, pulumi.String(clusterNetwork(c)))
	gp.set(&gp.of.Revision, optString(revision))
	gp.set(&gp.of.WaitForAddress, optBool(b.args.WaitForGateways))
	gp.set(&gp.of.TimeoutSeconds, optInt(b.args.TimeoutSeconds))
	gp.set(&gp.of.MeshIdentity, b.identity)
	gw := &gatewayResource{}
	err := b.ctx.RegisterResource(ambientGWToken, prefix+"-eastwest", gp.m, gw,
		b.parent, pulumi.DependsOn([]pulumi.Resource{plane, crds}))
	return gw, err
}

// sample registers cluster c's helloworld, when it has one.
func (b *meshBuilder) sample(index int, c MeshCluster, conn pulumi.Map, prefix string, plane pulumi.Resource, proxyRevision pulumi.StringPtrInput) error {
	timeout := b.args.TimeoutSeconds
	if b.helloWorld(c) {
		hp := newProps[HelloWorldArgs]()
		if isAmbient(b.args.Dataplane) {
			hp.set(&hp.of.Dataplane, pulumi.String(dataplaneAmbient))
		}
		hp.set(&hp.of.Cluster, conn)
		hp.set(&hp.of.SampleVersion, pulumi.String(sample.VersionFor(index)))
		hp.set(&hp.of.Revision, optString(b.args.Revision))
		hp.set(&hp.of.ProxyRevision, proxyRevision)
		hp.set(&hp.of.TimeoutSeconds, optInt(timeout))
		hp.set(&hp.of.Adopt, optBool(c.Adopt))
		hp.set(&hp.of.MeshIdentity, b.identity)
		if err := b.ctx.RegisterResource(helloWorldToken, prefix+"-helloworld", hp.m, &plainResource{},
			b.parent, pulumi.DependsOn([]pulumi.Resource{plane})); err != nil {
			return err
		}
	}
	return nil
}

// controlPlane registers one IstioControlPlane of cluster c.
func (b *meshBuilder) controlPlane(c MeshCluster, conn pulumi.Map, name, version string, revision *string, after []pulumi.Resource, opts ...pulumi.ResourceOption) (*plainResource, error) {
	pp := newProps[IstioControlPlaneArgs]()
	pp.set(&pp.of.Cluster, conn)
	pp.set(&pp.of.MeshID, pulumi.String(b.args.MeshID))
	pp.set(&pp.of.Network, pulumi.String(clusterNetwork(c)))
	pp.set(&pp.of.IstioVersion, pulumi.String(version))
	pp.set(&pp.of.MeshNetworks, b.meshNetworks())
	b.chartProps(&pp.of.ChartSource, pp.set)
	pp.set(&pp.of.Revision, optString(revision))
	pp.set(&pp.of.TimeoutSeconds, optInt(b.args.TimeoutSeconds))
	pp.set(&pp.of.Adopt, optBool(c.Adopt))
	pp.set(&pp.of.MeshIdentity, b.identity)
	// Set only for ambient, so that sidecar meshes made before the input
	// existed show no change.
	if isAmbient(b.args.Dataplane) {
		pp.set(&pp.of.Dataplane, pulumi.String(dataplaneAmbient))
	}
	if len(c.IstiodValues) > 0 {
		pp.set(&pp.of.IstiodValues, pulumi.ToMap(c.IstiodValues))
	}
	plane := &plainResource{}
	opts = append([]pulumi.ResourceOption{b.parent, pulumi.DependsOn(after)}, opts...)
	err := b.ctx.RegisterResource(controlPlaneToken, name, pp.m, plane, opts...)
	return plane, err
}

// revisions registers cluster c's control plane of every revision, then the
// default tag pointing at defaultRevision. Each control plane waits for the
// one before it: they share istio-base, and two installs of it at once
// would collide.
func (b *meshBuilder) revisions(c MeshCluster, conn pulumi.Map, prefix string, cacerts pulumi.Resource) (pulumi.Resource, error) {
	var planes []pulumi.Resource
	after := []pulumi.Resource{cacerts}
	for _, r := range b.args.Revisions {
		var opts []pulumi.ResourceOption
		if len(b.args.Revisions) == 1 && r.Name != naming.DefaultRevision {
			// The single control plane of a mesh with `revision` set.
			opts = append(opts, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(prefix + "-istio")}}))
		}
		var rev *string
		if name := istioRevision(r.Name); name != "" {
			rev = &name
		}
		plane, err := b.controlPlane(c, conn, controlPlaneName(prefix, r.Name), r.IstioVersion, rev, after, opts...)
		if err != nil {
			return nil, err
		}
		planes = append(planes, plane)
		after = []pulumi.Resource{cacerts, plane}
	}
	def := b.defaultRevision()
	tp := newProps[RevisionTagArgs]()
	tp.set(&tp.of.Cluster, conn)
	tp.set(&tp.of.Revision, pulumi.String(def.Name))
	tp.set(&tp.of.IstioVersion, pulumi.String(def.IstioVersion))
	b.chartProps(&tp.of.ChartSource, tp.set)
	tp.set(&tp.of.TimeoutSeconds, optInt(b.args.TimeoutSeconds))
	tp.set(&tp.of.MeshIdentity, b.identity)
	tag := &plainResource{}
	err := b.ctx.RegisterResource(revisionTagToken, prefix+"-default-tag", tp.m, tag, b.parent, pulumi.DependsOn(planes))
	return tag, err
}

// controlPlaneName keeps the name a mesh without revisions gives its control
// plane for the revision installed without one.
func controlPlaneName(prefix, revision string) string {
	if revision == naming.DefaultRevision {
		return prefix + "-istio"
	}
	return prefix + "-istio-" + revision
}

// defaultRevision is the entry of revisions defaultRevision names
// (validateMesh made sure there is one).
func (b *meshBuilder) defaultRevision() MeshRevision {
	for _, r := range b.args.Revisions {
		if r.Name == deref(b.args.DefaultRevision) {
			return r
		}
	}
	return MeshRevision{}
}

// remoteSecrets registers what lets every istiod watch every peer, and
// returns, as secrets[i][j], the resource holding the secret from cluster i
// into cluster j.
func (b *meshBuilder) remoteSecrets(conns []pulumi.Map, planes []pulumi.Resource) ([][]remoteSecretHandle, error) {
	n := len(b.args.Clusters)
	secrets := make([][]remoteSecretHandle, n)
	for i := range secrets {
		secrets[i] = make([]remoteSecretHandle, n)
	}
	for j, dst := range b.args.Clusters {
		if deref(b.args.RemoteSecrets) == remoteSecretsPerCluster {
			set, err := b.remoteSecretSet(j, conns, planes)
			if err != nil {
				return nil, err
			}
			for i, src := range b.args.Clusters {
				sum := set.Secrets.MapIndex(pulumi.String(src.Name)).MapIndex(pulumi.String("appliedChecksum"))
				secrets[i][j] = remoteSecretHandle{resource: set, checksum: sum}
			}
			continue
		}
		for i, src := range b.args.Clusters {
			if i == j {
				continue
			}
			secret, err := b.remoteSecret(src, dst, conns[i], conns[j], planes[i], planes[j])
			if err != nil {
				return nil, err
			}
			secrets[i][j] = remoteSecretHandle{resource: secret, checksum: secret.AppliedChecksum}
		}
	}
	return secrets, nil
}

// remoteSecret registers the secret that lets dst's istiod watch src; it
// takes over istioctl's when dst is adopted.
func (b *meshBuilder) remoteSecret(src, dst MeshCluster, srcConn, dstConn pulumi.Map, srcPlane, dstPlane pulumi.Resource) (*remoteSecretResource, error) {
	p := newProps[RemoteSecretArgs]()
	p.set(&p.of.Source, srcConn)
	p.set(&p.of.Target, dstConn)
	p.set(&p.of.RemoteAPIServer, src.RemoteAPIServer)
	p.set(&p.of.ReaderTokenMode, optString(b.args.ReaderTokenMode))
	p.set(&p.of.ReaderTokenTTLHours, optInt(b.args.ReaderTokenTTLHours))
	p.set(&p.of.TimeoutSeconds, optInt(b.args.TimeoutSeconds))
	p.set(&p.of.Adopt, optBool(dst.Adopt))
	p.set(&p.of.RestartIstiod, optString(b.args.RestartIstiod))
	p.set(&p.of.MeshIdentity, b.identity)
	secret := &remoteSecretResource{}
	err := b.ctx.RegisterResource(remoteSecretToken, fmt.Sprintf("%s-%s-to-%s", b.name, src.Name, dst.Name), p.m, secret,
		b.parent, pulumi.DependsOn([]pulumi.Resource{srcPlane, dstPlane}))
	return secret, err
}

// remoteSecretSet registers every remote secret cluster j's istiod reads as
// one resource (remoteSecrets: perCluster). It waits for every control
// plane: each source's reader service account comes with it.
func (b *meshBuilder) remoteSecretSet(j int, conns []pulumi.Map, planes []pulumi.Resource) (*remoteSecretSetResource, error) {
	dst := b.args.Clusters[j]
	sources := pulumi.Map{}
	for i, src := range b.args.Clusters {
		if i == j {
			continue
		}
		sp := newProps[RemoteSecretSource]()
		sp.set(&sp.of.Cluster, conns[i])
		sp.set(&sp.of.RemoteAPIServer, src.RemoteAPIServer)
		sources[src.Name] = sp.m
	}
	p := newProps[RemoteSecretSetArgs]()
	p.set(&p.of.Target, conns[j])
	p.set(&p.of.Sources, sources)
	p.set(&p.of.ReaderTokenMode, optString(b.args.ReaderTokenMode))
	p.set(&p.of.ReaderTokenTTLHours, optInt(b.args.ReaderTokenTTLHours))
	p.set(&p.of.TimeoutSeconds, optInt(b.args.TimeoutSeconds))
	p.set(&p.of.Adopt, optBool(dst.Adopt))
	p.set(&p.of.RestartIstiod, optString(b.args.RestartIstiod))
	p.set(&p.of.MeshIdentity, b.identity)
	set := &remoteSecretSetResource{}
	err := b.ctx.RegisterResource(secretSetToken, fmt.Sprintf("%s-%s-remote-secrets", b.name, dst.Name), p.m, set,
		b.parent, pulumi.DependsOn(planes))
	return set, err
}

func (b *meshBuilder) istioVersion(c MeshCluster) string {
	if v := deref(c.IstioVersion); v != "" {
		return v
	}
	if v := deref(b.args.IstioVersion); v != "" {
		return v
	}
	return DefaultIstioVersion
}

func (b *meshBuilder) helloWorld(c MeshCluster) bool {
	if c.InstallHelloWorld != nil {
		return *c.InstallHelloWorld
	}
	return deref(b.args.InstallHelloWorld)
}

// chartProps sets a child's chart source (its embedded ChartSource) through
// the child's own setter.
func (b *meshBuilder) chartProps(src *ChartSource, set func(field any, v pulumi.Input)) {
	set(&src.ChartRepository, optNonEmpty(b.args.ChartRepository))
	set(&src.ChartDirectory, optNonEmpty(b.args.ChartDirectory))
}

// meshNetworks lists the networks whose gateways have fixed addresses; every
// control plane learns them through global.meshNetworks.
func (b *meshBuilder) meshNetworks() pulumi.Array {
	out := pulumi.Array{}
	for _, c := range b.args.Clusters {
		if c.GatewayAddress != nil {
			p := newProps[MeshNetworkArgs]()
			p.set(&p.of.Network, pulumi.String(clusterNetwork(c)))
			p.set(&p.of.Cluster, pulumi.String(c.Name))
			p.set(&p.of.GatewayAddress, c.GatewayAddress)
			out = append(out, p.m)
		}
	}
	return out
}
