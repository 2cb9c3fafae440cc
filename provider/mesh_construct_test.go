package provider

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	ristio "github.com/ristio/pulumi-ristio"
)

// registered records what the component registers, as the engine sees it.
type registered struct {
	mu     sync.Mutex
	byName map[string]pulumi.MockResourceArgs
}

func (r *registered) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byName[args.Name] = args
	return args.Name + "-id", args.Inputs, nil
}

func (r *registered) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

// TestChildrenAreRegisteredAsTheirResourcesExpect builds a 2-cluster mesh
// with two roots against mocks, and checks each child's token and inputs
// against the provider's own schema: a property the component sets that its
// resource does not declare fails here, not in an e2e run.
func TestChildrenAreRegisteredAsTheirResourcesExpect(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(file, []byte(validateKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	args := MultiClusterMeshArgs{
		MeshID:         "usmesh",
		ChartDirectory: s("/charts"),
		Certificate: &MeshCertificate{
			SanSuffix: s("mesh.example"), Password: pulumi.String("pw"),
			Roots: []MeshRoot{{Name: "blue", KeyType: s("ECDSA")}, {Name: "green", KeyType: s("ECDSA")}},
		},
		Clusters: []MeshCluster{
			{Name: "cluster1", KubeconfigFile: s(file), Context: s("cluster1"), GatewayAddress: pulumi.String("10.0.0.1")},
			{Name: "cluster2", KubeconfigFile: s(file), Context: s("cluster2"), InstallHelloWorld: pulumiBool(true)},
		},
	}
	mocks := &registered{byName: construct(t, args)}

	spec := schemaOf(t)
	for name, r := range mocks.byName {
		res, ok := spec.Resources[r.TypeToken]
		if !ok {
			t.Errorf("%s registered as %s, which the provider does not serve", name, r.TypeToken)
			continue
		}
		for key := range r.Inputs {
			if _, ok := res.InputProperties[string(key)]; !ok {
				t.Errorf("%s (%s) gets input %q, which the resource does not declare", name, r.TypeToken, key)
			}
		}
	}
	want := []string{
		"mesh", "mesh-root-ca-blue", "mesh-root-ca-green",
		"mesh-cluster1-ca", "mesh-cluster1-cacerts", "mesh-cluster1-istio", "mesh-cluster1-eastwest", "mesh-cluster1-check",
		"mesh-cluster2-ca", "mesh-cluster2-cacerts", "mesh-cluster2-istio", "mesh-cluster2-eastwest", "mesh-cluster2-check", "mesh-cluster2-helloworld",
		"mesh-cluster1-to-cluster2", "mesh-cluster2-to-cluster1",
	}
	for _, name := range want {
		if _, ok := mocks.byName[name]; !ok {
			t.Errorf("%s was not registered", name)
		}
	}
	var got []string
	for name := range mocks.byName {
		got = append(got, name)
	}
	if len(got) != len(want) {
		slices.Sort(got)
		t.Errorf("registered %v, want %v", got, want)
	}

	// The signer's password reaches both the RootCA that encrypts its key and
	// every ClusterCA that decrypts it; the other root is trusted only.
	blue, ca := mocks.byName["mesh-root-ca-blue"].Inputs, mocks.byName["mesh-cluster1-ca"].Inputs
	if !blue["password"].IsSecret() || !ca["rootKeyPassword"].IsSecret() {
		t.Errorf("root password inputs are not secret: %v / %v", blue["password"], ca["rootKeyPassword"])
	}
	if ca["trustedRootCertPems"].IsNull() || mocks.byName["mesh-cluster1-cacerts"].Inputs["extraRootCertPems"].IsNull() {
		t.Errorf("the second root is not passed on as trusted: ClusterCA %v", ca)
	}
	// cluster1's fixed gateway address reaches every istiod's meshNetworks.
	for _, name := range []string{"mesh-cluster1-istio", "mesh-cluster2-istio"} {
		plane := mocks.byName[name].Inputs
		networks := plane["meshNetworks"].ArrayValue()
		if plane["chartDirectory"].StringValue() != "/charts" || len(networks) != 1 ||
			networks[0].ObjectValue()["gatewayAddress"].StringValue() != "10.0.0.1" || networks[0].ObjectValue()["cluster"].StringValue() != "cluster1" {
			t.Errorf("%s inputs: %v", name, plane)
		}
	}
	// Each check covers the clusters before it, both ways: the first has no
	// peer, the second has the first, so a third would change neither.
	for name, want := range map[string][]string{"mesh-cluster1-check": nil, "mesh-cluster2-check": {"cluster1"}} {
		check := mocks.byName[name].Inputs
		var peers []string
		for _, peer := range check["peers"].ArrayValue() {
			peers = append(peers, peer.ObjectValue()["cluster"].ObjectValue()["name"].StringValue())
		}
		if !slices.Equal(peers, want) || check["network"].StringValue() == "" {
			t.Errorf("%s checks peers %v on network %v, want %v", name, peers, check["network"], want)
		}
		// A sidecar mesh's checks keep the inputs they had before ambient.
		if _, ok := check["dataplane"]; ok {
			t.Errorf("%s of a sidecar mesh gets dataplane %v", name, check["dataplane"])
		}
	}
}

// TestAmbientMeshChildren: an ambient mesh registers per cluster the Gateway
// API CRDs and the Gateway API east-west gateway in place of the gateway
// chart, an ambient control plane, a sample with global services, and a
// MeshCheck that judges ambient gateways unless verify is false.
func TestAmbientMeshChildren(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(file, []byte(validateKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	args := MultiClusterMeshArgs{
		MeshID: "usmesh", Dataplane: s("ambient"), InstallHelloWorld: pulumiBool(true),
		Clusters: []MeshCluster{
			{Name: "cluster1", KubeconfigFile: s(file), Context: s("cluster1")},
			{Name: "cluster2", KubeconfigFile: s(file), Context: s("cluster2")},
		},
	}
	byName := construct(t, args)
	spec := schemaOf(t)
	for name, r := range byName {
		res, ok := spec.Resources[r.TypeToken]
		if !ok {
			continue
		}
		for key := range r.Inputs {
			if _, ok := res.InputProperties[string(key)]; !ok {
				t.Errorf("%s (%s) gets input %q, which the resource does not declare", name, r.TypeToken, key)
			}
		}
	}
	for _, c := range []string{"cluster1", "cluster2"} {
		if got := byName["mesh-"+c+"-gateway-api-crds"].TypeToken; got != gatewayCRDsToken {
			t.Errorf("%s CRDs registered as %q", c, got)
		}
		if got := byName["mesh-"+c+"-eastwest"].TypeToken; got != ambientGWToken {
			t.Errorf("%s east-west gateway registered as %q, want %s", c, got, ambientGWToken)
		}
		if got := byName["mesh-"+c+"-istio"].Inputs["dataplane"]; !got.IsString() || got.StringValue() != "ambient" {
			t.Errorf("%s control plane dataplane = %v", c, got)
		}
		if got := byName["mesh-"+c+"-helloworld"].Inputs["dataplane"]; !got.IsString() || got.StringValue() != "ambient" {
			t.Errorf("%s sample dataplane = %v", c, got)
		}
		agents := byName["mesh-"+c+"-node-agents"]
		if agents.TypeToken != nodeAgentsToken || agents.Inputs["network"].StringValue() == "" || !agents.Inputs["revision"].IsNull() {
			t.Errorf("%s node agents: %s %v", c, agents.TypeToken, agents.Inputs)
		}
		// verify defaults on: the check judges the gateways as ambient.
		check, ok := byName["mesh-"+c+"-check"]
		if got := check.Inputs["dataplane"]; !ok || !got.IsString() || got.StringValue() != "ambient" {
			t.Errorf("%s MeshCheck: registered %v, dataplane %v; want one judging ambient gateways", c, ok, got)
		}
	}
	args.Verify = pulumiBool(false)
	for name := range construct(t, args) {
		if strings.HasSuffix(name, "-check") {
			t.Errorf("verify false still registers %s", name)
		}
	}

	// With canary revisions: a control plane per revision, and one pair of
	// node agents per cluster that, like the east-west Gateway, follows the
	// revision the default tag points at and comes after the tag.
	args.Revisions = []MeshRevision{{Name: "default", IstioVersion: "1.30.0"}, {Name: "canary", IstioVersion: "1.30.1"}}
	args.DefaultRevision = s("canary")
	byName = construct(t, args)
	for _, c := range []string{"cluster1", "cluster2"} {
		for _, plane := range []string{"-istio", "-istio-canary"} {
			if got := byName["mesh-"+c+plane].Inputs["dataplane"]; got.StringValue() != "ambient" {
				t.Errorf("%s%s dataplane = %v", c, plane, got)
			}
		}
		agents := byName["mesh-"+c+"-node-agents"]
		if agents.Inputs["revision"].StringValue() != "canary" || agents.Inputs["istioVersion"].StringValue() != "1.30.1" {
			t.Errorf("%s node agents follow %v", c, agents.Inputs)
		}
		if deps := agents.RegisterRPC.GetDependencies(); !slices.ContainsFunc(deps, func(u string) bool { return strings.HasSuffix(u, "::mesh-"+c+"-default-tag") }) {
			t.Errorf("%s node agents depend on %v, want the default tag", c, deps)
		}
		if got := byName["mesh-"+c+"-eastwest"].Inputs["revision"]; got.StringValue() != "canary" {
			t.Errorf("%s east-west Gateway revision = %v, want the tagged one", c, got)
		}
		if got := byName["mesh-"+c+"-helloworld"].Inputs["proxyRevision"]; !got.IsNull() {
			t.Errorf("%s ambient sample gets proxyRevision %v: it has no sidecars to move", c, got)
		}
	}
}

func pulumiBool(v bool) *bool { return &v }

// construct runs the component against mocks and returns what it registered, by name.
func construct(t *testing.T, args MultiClusterMeshArgs) map[string]pulumi.MockResourceArgs {
	t.Helper()
	mocks := &registered{byName: map[string]pulumi.MockResourceArgs{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := DefaultDeps().newMultiClusterMesh(ctx, "mesh", args)
		return err
	}, pulumi.WithMocks("ristio", "test", mocks))
	if err != nil {
		t.Fatal(err)
	}
	return mocks.byName
}

// schemaSpec is the part of schema.json the registration test reads.
type schemaSpec struct {
	Resources map[string]struct {
		InputProperties map[string]json.RawMessage `json:"inputProperties"`
	} `json:"resources"`
}

// schemaOf reads the checked-in schema.json, which `make check-generated`
// keeps equal to what the provider serves.
func schemaOf(t *testing.T) schemaSpec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec schemaSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestRevisionsRegisterAControlPlaneEachAndTheTag: with revisions, each
// cluster gets one control plane per entry (the "default" entry under the
// name a mesh without revisions uses), and a RevisionTag; the gateway and
// sample follow the tag.
func TestRevisionsRegisterAControlPlaneEachAndTheTag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(file, []byte(validateKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	build := func(revisions []MeshRevision, def string) map[string]pulumi.MockResourceArgs {
		args := MultiClusterMeshArgs{
			MeshID: "usmesh", ChartDirectory: s("/charts"), Revisions: revisions, DefaultRevision: s(def),
			Clusters: []MeshCluster{{Name: "cluster1", KubeconfigFile: s(file), Context: s("cluster1"), InstallHelloWorld: pulumiBool(true)}},
		}
		return construct(t, args)
	}

	got := build([]MeshRevision{{Name: "default", IstioVersion: "1.30.5"}, {Name: "canary", IstioVersion: "1.31.0"}}, "canary")
	old, canary, tag := got["mesh-cluster1-istio"].Inputs, got["mesh-cluster1-istio-canary"].Inputs, got["mesh-cluster1-default-tag"]
	if !old["revision"].IsNull() || old["istioVersion"].StringValue() != "1.30.5" {
		t.Errorf("the default entry's control plane: %v", old)
	}
	if canary["revision"].StringValue() != "canary" || canary["istioVersion"].StringValue() != "1.31.0" {
		t.Errorf("the canary's control plane: %v", canary)
	}
	if tag.TypeToken != revisionTagToken || tag.Inputs["revision"].StringValue() != "canary" || tag.Inputs["istioVersion"].StringValue() != "1.31.0" {
		t.Errorf("the default tag: %s %v", tag.TypeToken, tag.Inputs)
	}
	for _, child := range []string{"mesh-cluster1-eastwest", "mesh-cluster1-helloworld"} {
		in := got[child].Inputs
		if !in["revision"].IsNull() || in["proxyRevision"].StringValue() != "canary" {
			t.Errorf("%s does not follow the tag: %v", child, in)
		}
	}
	if got["mesh-cluster1-eastwest"].Inputs["istioVersion"].StringValue() != "1.31.0" {
		t.Errorf("the gateway's chart is not the tagged revision's")
	}

	// A single entry that is not "default" keeps the name (by alias) of the
	// control plane a mesh with `revision` had.
	got = build([]MeshRevision{{Name: "blue", IstioVersion: "1.30.5"}}, "blue")
	aliases := got["mesh-cluster1-istio-blue"].RegisterRPC.GetAliases()
	if len(aliases) != 1 || aliases[0].GetSpec().GetName() != "mesh-cluster1-istio" {
		t.Errorf("single revision's aliases: %v", aliases)
	}
}

// TestClusterInputsFromOutputs: a cluster's remoteApiServer and
// gatewayAddress may be other resources' outputs: unknown, the component
// still builds; known, they reach the children; known but bad, they fail
// with the words validateMesh uses for plain values.
func TestClusterInputsFromOutputs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(file, []byte(validateKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	mesh := func(server, address pulumi.StringInput) MultiClusterMeshArgs {
		return MultiClusterMeshArgs{MeshID: "usmesh", ChartDirectory: s("/charts"), Clusters: []MeshCluster{
			{Name: "cluster1", KubeconfigFile: s(file), Context: s("cluster1"), RemoteAPIServer: server, GatewayAddress: address},
			{Name: "cluster2", KubeconfigFile: s(file), Context: s("cluster2")},
		}}
	}
	unknown := func() pulumi.StringInput { return pulumi.UnsafeUnknownOutput(nil).(pulumi.AnyOutput).AsStringOutput() }

	// The SDK's mock monitor drops unknown values, so what shows here is
	// that the component takes them (test/e2e's TestClusterInputsUnknownAtPreview
	// previews them with the engine) and counts an unknown address as set.
	got := construct(t, mesh(unknown(), unknown()))
	for _, plane := range []string{"mesh-cluster1-istio", "mesh-cluster2-istio"} {
		networks := got[plane].Inputs["meshNetworks"].ArrayValue()
		if len(networks) != 1 || networks[0].ObjectValue()["cluster"].StringValue() != "cluster1" {
			t.Errorf("%s meshNetworks = %v, want cluster1's", plane, networks)
		}
	}

	resolved := func(v string) pulumi.StringInput { return pulumi.String(v).ToStringOutput() }
	got = construct(t, mesh(resolved("https://cluster1.example:6443"), resolved("192.0.2.7")))
	if v := got["mesh-cluster1-eastwest"].Inputs["gatewayAddress"]; v.StringValue() != "192.0.2.7" {
		t.Errorf("gateway's address = %v", v)
	}
	if v := got["mesh-cluster1-to-cluster2"].Inputs["remoteApiServer"]; v.StringValue() != "https://cluster1.example:6443" {
		t.Errorf("remote secret's server = %v", v)
	}

	for field, args := range map[string]MultiClusterMeshArgs{
		"clusters[0] (cluster1).gatewayAddress":  mesh(nil, resolved("not an address")),
		"clusters[0] (cluster1).remoteApiServer": mesh(resolved("http://10.0.0.1"), nil),
	} {
		err := pulumi.RunErr(func(ctx *pulumi.Context) error {
			_, err := DefaultDeps().newMultiClusterMesh(ctx, "mesh", args)
			return err
		}, pulumi.WithMocks("ristio", "test", &registered{byName: map[string]pulumi.MockResourceArgs{}}))
		if err == nil || !strings.Contains(err.Error(), "invalid MultiClusterMesh inputs") || !strings.Contains(err.Error(), field) {
			t.Errorf("a bad %s from an output: %v", field, err)
		}
	}
}

// TestMeshTokenIsServed: the token the component registers under, and the
// converter's programs ask for, is the one infer serves the component as.
func TestMeshTokenIsServed(t *testing.T) {
	if got := tokenOf(infer.ComponentF(Deps{}.newMultiClusterMesh)); got != ristio.MeshToken {
		t.Errorf("infer serves the mesh as %s, ristio.MeshToken is %s", got, ristio.MeshToken)
	}
}
