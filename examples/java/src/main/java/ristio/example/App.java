// The Pulumi program of the Java example: usmesh over cluster1 and cluster2,
// from stack configuration:
//
//   - kubeconfigPath (required): the kubeconfig file holding both contexts;
//   - context1, context2: each cluster's context (default: its name);
//   - istioVersion1, istioVersion2: each cluster's Istio release;
//   - chartDirectory or chartRepository: where Istio's charts come from.
package ristio.example;

import com.pulumi.Context;
import com.pulumi.Pulumi;
import com.ristio.ristio.MultiClusterMesh;
import com.ristio.ristio.MultiClusterMeshArgs;
import com.ristio.ristio.inputs.MeshCertificateArgs;
import com.ristio.ristio.inputs.MeshClusterArgs;
import java.util.ArrayList;
import java.util.List;

public final class App {
    private static final List<String> CLUSTER_NAMES = List.of("cluster1", "cluster2");

    public static void main(String[] args) {
        Pulumi.run(App::stack);
    }

    static void stack(Context ctx) {
        var cfg = ctx.config();
        var kubeconfigPath = cfg.require("kubeconfigPath");

        var clusters = new ArrayList<MeshClusterArgs>();
        for (int i = 0; i < CLUSTER_NAMES.size(); i++) {
            var name = CLUSTER_NAMES.get(i);
            var n = String.valueOf(i + 1);
            var cluster = MeshClusterArgs.builder()
                .name(name)
                .kubeconfigFile(kubeconfigPath)
                .context(cfg.get("context" + n).orElse(name));
            cfg.get("istioVersion" + n).ifPresent(cluster::istioVersion);
            clusters.add(cluster.build());
        }

        var mesh = new MultiClusterMesh("mesh", MultiClusterMeshArgs.builder()
            .meshId("usmesh")
            .certificate(MeshCertificateArgs.builder()
                .validityHours(87600)
                .sanSuffix("istio.io")
                .build())
            .installHelloWorld(true)
            // An unset (or empty) value leaves the input out.
            .chartDirectory(cfg.get("chartDirectory").filter(s -> !s.isEmpty()).orElse(null))
            .chartRepository(cfg.get("chartRepository").filter(s -> !s.isEmpty()).orElse(null))
            .clusters(clusters)
            .build());

        ctx.export("gatewayAddresses", mesh.gatewayAddresses());
        ctx.export("networks", mesh.networks());
        // What each cluster's istiod says of each peer: "synced", or why not.
        ctx.export("meshStatus", mesh.meshStatus());
    }
}
