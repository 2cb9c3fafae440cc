import * as pulumi from "@pulumi/pulumi";
import * as ristio from "@ristio/pulumi-ristio";

const clusterNames = ["cluster1", "cluster2"];

/**
 * Declares usmesh over cluster1 and cluster2 from stack configuration:
 *
 * - kubeconfigPath (required): the kubeconfig file holding both contexts;
 * - context1, context2: each cluster's context (default: its name);
 * - istioVersion1, istioVersion2: each cluster's Istio release;
 * - chartDirectory or chartRepository: where Istio's charts come from;
 * - dataplane: sidecar (default) or ambient, for ztunnel and no sidecars
 *   (Istio 1.30 or later; see the README's "Ambient meshes"). A live mesh
 *   does not switch: use a new stack.
 */
export function program() {
    const config = new pulumi.Config();
    const kubeconfigPath = config.require("kubeconfigPath");

    const mesh = new ristio.MultiClusterMesh("mesh", {
        meshId: "usmesh",
        certificate: { validityHours: 87600, sanSuffix: "istio.io" },
        installHelloWorld: true,
        dataplane: config.get("dataplane"),
        chartDirectory: config.get("chartDirectory"),
        chartRepository: config.get("chartRepository"),
        clusters: clusterNames.map((name, i) => ({
            name,
            kubeconfigFile: kubeconfigPath,
            context: config.get(`context${i + 1}`) ?? name,
            istioVersion: config.get(`istioVersion${i + 1}`),
        })),
    });

    return {
        gatewayAddresses: mesh.gatewayAddresses,
        networks: mesh.networks,
        meshStatus: mesh.meshStatus,
    };
}
