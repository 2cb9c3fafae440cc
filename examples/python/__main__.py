"""usmesh over cluster1 and cluster2, from stack configuration:

- kubeconfigPath (required): the kubeconfig file holding both contexts;
- context1, context2: each cluster's context (default: its name);
- istioVersion1, istioVersion2: each cluster's Istio release;
- chartDirectory or chartRepository: where Istio's charts come from.
"""

import pulumi
import pulumi_ristio as ristio

CLUSTER_NAMES = ("cluster1", "cluster2")


def program() -> None:
    """Declares the mesh and exports its gateway addresses, networks and status."""
    config = pulumi.Config()
    kubeconfig_path = config.require("kubeconfigPath")

    mesh = ristio.MultiClusterMesh(
        "mesh",
        mesh_id="usmesh",
        certificate={"validity_hours": 87600, "san_suffix": "istio.io"},
        install_hello_world=True,
        chart_directory=config.get("chartDirectory"),
        chart_repository=config.get("chartRepository"),
        clusters=[
            {
                "name": name,
                "kubeconfig_file": kubeconfig_path,
                "context": config.get(f"context{i}") or name,
                "istio_version": config.get(f"istioVersion{i}"),
            }
            for i, name in enumerate(CLUSTER_NAMES, start=1)
        ],
    )

    pulumi.export("gatewayAddresses", mesh.gateway_addresses)
    pulumi.export("networks", mesh.networks)
    pulumi.export("meshStatus", mesh.mesh_status)


# `pulumi up` runs this file as __main__; code that imports it (a test, a
# bigger program) calls program() itself.
if __name__ == "__main__":
    program()
