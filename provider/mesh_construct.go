package provider

import (
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
	"github.com/ristio/pulumi-ristio/pkg/sample"
)

// Child resource handles: only the outputs the component reads.
type (
	rootCAResource struct {
		pulumi.CustomResourceState
		CertPem pulumi.StringOutput `pulumi:"certPem"`
		KeyPem  pulumi.StringOutput `pulumi:"keyPem"`
	}
	clusterCAResource struct {
		pulumi.CustomResourceState
		CertPem      pulumi.StringOutput `pulumi:"certPem"`
		KeyPem       pulumi.StringOutput `pulumi:"keyPem"`
		CertChainPem pulumi.StringOutput `pulumi:"certChainPem"`
		NotAfter     pulumi.StringOutput `pulumi:"notAfter"`
	}
	gatewayResource struct {
		pulumi.CustomResourceState
		Address pulumi.StringOutput `pulumi:"address"`
	}
	meshCheckResource struct {
		pulumi.CustomResourceState
		Status pulumi.StringMapOutput `pulumi:"status"`
	}
	plainResource struct{ pulumi.CustomResourceState }
)

// meshBuilder registers one mesh's children.
type meshBuilder struct {
	ctx    *pulumi.Context
	name   string
	args   MultiClusterMeshArgs
	parent pulumi.ResourceOption
}

// NewMultiClusterMesh constructs the component. Every input known now is
// validated before the first child is registered.
func NewMultiClusterMesh(ctx *pulumi.Context, name string, args MultiClusterMeshArgs, opts ...pulumi.ResourceOption) (*MultiClusterMesh, error) {
	if err := validateMesh(args, time.Now()); err != nil {
		return nil, err
	}
	comp := &MultiClusterMesh{}
	if err := ctx.RegisterComponentResource("ristio:index:MultiClusterMesh", name, comp, opts...); err != nil {
		return nil, err
	}
	b := &meshBuilder{ctx: ctx, name: name, args: args, parent: pulumi.Parent(comp)}
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
	comp.RootCertPem = roots.signer.CertPem
	comp.RootKeyPem = pulumi.ToSecret(roots.signer.KeyPem).(pulumi.StringOutput)
	expiry := pulumi.StringMap{}

	n := len(b.args.Clusters)
	conns := make([]pulumi.Map, n)
	planes := make([]*plainResource, n)
	gateways := make([]*gatewayResource, n)
	cas := make([]*clusterCAResource, n)
	addresses, networks := pulumi.StringMap{}, pulumi.StringMap{}
	for i, c := range b.args.Clusters {
		conns[i] = b.connection(c)
		networks[c.Name] = pulumi.String(clusterNetwork(c))
		ca, err := b.clusterCA(c, roots)
		if err != nil {
			return err
		}
		expiry[c.Name] = ca.NotAfter
		plane, gw, err := b.cluster(i, c, conns[i], ca, roots)
		if err != nil {
			return err
		}
		planes[i], gateways[i] = plane, gw
		cas[i] = ca
		addresses[c.Name] = gw.Address
	}
	// secretsInto[j] are the remote secrets istiod in cluster j reads.
	secretsInto := make([][]pulumi.Resource, n)
	for i, src := range b.args.Clusters {
		for j, dst := range b.args.Clusters {
			if i == j {
				continue
			}
			secret, err := b.remoteSecret(src, conns[i], conns[j], dst.Name, planes[i], planes[j])
			if err != nil {
				return err
			}
			secretsInto[j] = append(secretsInto[j], secret)
		}
	}
	comp.GatewayAddresses = addresses.ToStringMapOutput()
	comp.Networks = networks.ToStringMapOutput()
	comp.IntermediateExpiry = expiry.ToStringMapOutput()
	status := pulumi.StringMapMap{}
	if b.args.Verify == nil || *b.args.Verify {
		for i, c := range b.args.Clusters {
			check, err := b.meshCheck(i, conns, planes, gateways, secretsInto[i], cas[i], roots)
			if err != nil {
				return err
			}
			status[c.Name] = check.Status
		}
	}
	comp.MeshStatus = status.ToStringMapMapOutput()
	return nil
}

// meshCheck registers cluster i's MeshCheck once everything its istiod must
// see exists: its control plane, every peer's control plane and gateway
// (whose addresses are inputs), and the remote secrets it reads.
func (b *meshBuilder) meshCheck(i int, conns []pulumi.Map, planes []*plainResource, gateways []*gatewayResource, secrets []pulumi.Resource, ca *clusterCAResource, roots meshRoots) (*meshCheckResource, error) {
	c := b.args.Clusters[i]
	deps := append([]pulumi.Resource{planes[i], gateways[i]}, secrets...)
	peers := pulumi.Array{}
	for j, peer := range b.args.Clusters {
		if j == i {
			continue
		}
		peers = append(peers, pulumi.Map{
			"cluster":        conns[j],
			"network":        pulumi.String(clusterNetwork(peer)),
			"gatewayAddress": gateways[j].Address,
		})
		deps = append(deps, planes[j], gateways[j])
	}
	// The cacerts istiod must have loaded: a rotation step changes them, so
	// the check runs again and waits for istiod to reload.
	props := pulumi.Map{"cluster": conns[i], "peers": peers, "caCertPem": ca.CertPem, "rootCertPem": roots.bundle}
	setString(props, "revision", b.args.Revision)
	setInt(props, "timeoutSeconds", b.args.TimeoutSeconds)
	check := &meshCheckResource{}
	err := b.ctx.RegisterResource("ristio:index:MeshCheck", b.name+"-"+c.Name+"-check", props, check,
		b.parent, pulumi.DependsOn(deps))
	return check, err
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
		props := pulumi.Map{}
		setInt(props, "validityHours", r.ValidityHours)
		setString(props, "keyType", r.KeyType)
		setInt(props, "rsaBits", r.RsaBits)
		if cert != nil {
			setString(props, "sanSuffix", cert.SanSuffix)
		}
		setSecret(props, "password", r.keyPassword(cert))
		if r.RootCertPem != nil {
			setSecret(props, "rootCertPem", brought.Index(pulumi.Int(i)))
		}
		setSecret(props, "rootKeyPem", r.RootKeyPem)
		root := &rootCAResource{}
		if err := b.ctx.RegisterResource("ristio:index:RootCA", rootCAName(b.name, r.Name), props, root, b.parent); err != nil {
			return out, err
		}
		if i == 0 {
			out.signer = root
		} else {
			out.extras = append(out.extras, root.CertPem)
		}
		all = append(all, root.CertPem)
	}
	out.bundle = pulumi.All(all...).ApplyT(func(certs []any) string {
		var s strings.Builder
		for _, c := range certs {
			s.WriteString(strings.TrimRight(c.(string), "\n") + "\n")
		}
		return s.String()
	}).(pulumi.StringOutput)
	return out, nil
}

// clusterCA registers the cluster's intermediate, signed by the first root
// and shaped by its settings.
func (b *meshBuilder) clusterCA(c MeshCluster, roots meshRoots) (*clusterCAResource, error) {
	signer := roots.entries[0]
	props := pulumi.Map{
		"cluster":     pulumi.String(c.Name),
		"rootCertPem": roots.signer.CertPem,
		"rootKeyPem":  pulumi.ToSecret(roots.signer.KeyPem),
	}
	setInt(props, "validityHours", signer.ValidityHours)
	setString(props, "keyType", signer.KeyType)
	setInt(props, "rsaBits", signer.RsaBits)
	if cert := b.args.Certificate; cert != nil {
		setString(props, "sanSuffix", cert.SanSuffix)
		setInt(props, "renewBeforeHours", cert.RenewBeforeHours)
	}
	setSecret(props, "rootKeyPassword", signer.keyPassword(b.args.Certificate))
	if len(roots.extras) > 0 {
		props["trustedRootCertPems"] = roots.extras
	}
	ca := &clusterCAResource{}
	err := b.ctx.RegisterResource("ristio:index:ClusterCA", b.name+"-"+c.Name+"-ca", props, ca, b.parent)
	return ca, err
}

// connection is a cluster's ClusterConnection. Kubeconfig contents are
// validated as soon as they are known, and stay secret.
func (b *meshBuilder) connection(c MeshCluster) pulumi.Map {
	conn := pulumi.Map{"name": pulumi.String(c.Name)}
	setString(conn, "kubeconfigFile", c.KubeconfigFile)
	setString(conn, "context", c.Context)
	if c.Kubeconfig != nil {
		name, context := c.Name, deref(c.Context)
		checked := c.Kubeconfig.ToStringOutput().ApplyT(func(contents string) (string, error) {
			if err := (kubeconfig.Source{Kubeconfig: contents, Context: context}).Validate(); err != nil {
				return "", fmt.Errorf("invalid MultiClusterMesh inputs: cluster %q: kubeconfig: %w", name, err)
			}
			return contents, nil
		}).(pulumi.StringOutput)
		conn["kubeconfig"] = pulumi.ToSecret(checked)
	}
	return conn
}

// cluster registers one cluster's CA, cacerts, control plane, gateway and sample.
func (b *meshBuilder) cluster(index int, c MeshCluster, conn pulumi.Map, ca *clusterCAResource, roots meshRoots) (*plainResource, *gatewayResource, error) {
	prefix := b.name + "-" + c.Name
	version := b.istioVersion(c)
	timeout := b.args.TimeoutSeconds

	cacerts := &plainResource{}
	cacertsProps := pulumi.Map{
		"cluster":      conn,
		"caCertPem":    ca.CertPem,
		"caKeyPem":     pulumi.ToSecret(ca.KeyPem),
		"rootCertPem":  roots.signer.CertPem,
		"certChainPem": ca.CertChainPem,
	}
	if len(roots.extras) > 0 {
		cacertsProps["extraRootCertPems"] = roots.extras
	}
	if err := b.ctx.RegisterResource("ristio:index:CACerts", prefix+"-cacerts", cacertsProps, cacerts, b.parent); err != nil {
		return nil, nil, err
	}

	planeProps := pulumi.Map{
		"cluster":      conn,
		"meshId":       pulumi.String(b.args.MeshId),
		"network":      pulumi.String(clusterNetwork(c)),
		"istioVersion": pulumi.String(version),
		"meshNetworks": b.meshNetworks(),
	}
	b.chartProps(planeProps)
	setString(planeProps, "revision", b.args.Revision)
	setInt(planeProps, "timeoutSeconds", timeout)
	if len(c.IstiodValues) > 0 {
		planeProps["istiodValues"] = pulumi.ToMap(c.IstiodValues)
	}
	plane := &plainResource{}
	if err := b.ctx.RegisterResource("ristio:index:IstioControlPlane", prefix+"-istio", planeProps, plane,
		b.parent, pulumi.DependsOn([]pulumi.Resource{cacerts})); err != nil {
		return nil, nil, err
	}

	gwProps := pulumi.Map{
		"cluster":      conn,
		"network":      pulumi.String(clusterNetwork(c)),
		"istioVersion": pulumi.String(version),
	}
	b.chartProps(gwProps)
	setString(gwProps, "revision", b.args.Revision)
	setString(gwProps, "gatewayAddress", c.GatewayAddress)
	setBool(gwProps, "waitForAddress", b.args.WaitForGateways)
	setInt(gwProps, "timeoutSeconds", timeout)
	if len(c.GatewayValues) > 0 {
		gwProps["gatewayValues"] = pulumi.ToMap(c.GatewayValues)
	}
	gw := &gatewayResource{}
	if err := b.ctx.RegisterResource("ristio:index:EastWestGateway", prefix+"-eastwest", gwProps, gw,
		b.parent, pulumi.DependsOn([]pulumi.Resource{plane})); err != nil {
		return nil, nil, err
	}

	if b.helloWorld(c) {
		props := pulumi.Map{"cluster": conn, "sampleVersion": pulumi.String(sample.VersionFor(index))}
		setString(props, "revision", b.args.Revision)
		setInt(props, "timeoutSeconds", timeout)
		if err := b.ctx.RegisterResource("ristio:index:HelloWorld", prefix+"-helloworld", props, &plainResource{},
			b.parent, pulumi.DependsOn([]pulumi.Resource{plane})); err != nil {
			return nil, nil, err
		}
	}
	return plane, gw, nil
}

func (b *meshBuilder) remoteSecret(src MeshCluster, srcConn, dstConn pulumi.Map, dst string, srcPlane, dstPlane *plainResource) (pulumi.Resource, error) {
	props := pulumi.Map{"source": srcConn, "target": dstConn}
	setString(props, "remoteApiServer", src.RemoteApiServer)
	setString(props, "readerTokenMode", b.args.ReaderTokenMode)
	setInt(props, "readerTokenTtlHours", b.args.ReaderTokenTtlHours)
	setInt(props, "timeoutSeconds", b.args.TimeoutSeconds)
	secret := &plainResource{}
	err := b.ctx.RegisterResource("ristio:index:RemoteSecret", fmt.Sprintf("%s-%s-to-%s", b.name, src.Name, dst), props, secret,
		b.parent, pulumi.DependsOn([]pulumi.Resource{srcPlane, dstPlane}))
	return secret, err
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

func (b *meshBuilder) chartProps(props pulumi.Map) {
	setString(props, "chartRepository", b.args.ChartRepository)
	setString(props, "chartDirectory", b.args.ChartDirectory)
}

// meshNetworks lists the networks whose gateways have fixed addresses; every
// control plane learns them through global.meshNetworks.
func (b *meshBuilder) meshNetworks() pulumi.Array {
	out := pulumi.Array{}
	for _, c := range b.args.Clusters {
		if a := deref(c.GatewayAddress); a != "" {
			out = append(out, pulumi.Map{
				"network":        pulumi.String(clusterNetwork(c)),
				"cluster":        pulumi.String(c.Name),
				"gatewayAddress": pulumi.String(a),
			})
		}
	}
	return out
}

func setString(m pulumi.Map, key string, v *string) {
	if v != nil {
		m[key] = pulumi.String(*v)
	}
}

func setInt(m pulumi.Map, key string, v *int) {
	if v != nil {
		m[key] = pulumi.Int(*v)
	}
}

func setBool(m pulumi.Map, key string, v *bool) {
	if v != nil {
		m[key] = pulumi.Bool(*v)
	}
}

func setSecret(m pulumi.Map, key string, v pulumi.StringInput) {
	if v != nil {
		m[key] = pulumi.ToSecret(v)
	}
}
