"""deploy/k8s validates offline against Kubernetes' own schemas and agrees with the code.

The schemas come with the `kubernetes-validate` package (strict: unknown fields are errors), so
no cluster and no network is needed. The rest checks what a schema cannot: selectors that select,
probes on routes that exist, variables the settings know, grace periods longer than the drains.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.cli import GRACEFUL_SHUTDOWN_SECONDS
from app.settings import Settings

K8S = Path(__file__).resolve().parent.parent / "deploy" / "k8s"
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def manifests() -> dict[str, dict[str, Any]]:
    """Every resource of the kustomization, by `Kind/name`."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources: dict[str, dict[str, Any]] = {}
    for filename in kustomization["resources"]:
        for document in yaml.safe_load_all((K8S / filename).read_text()):
            resources[f"{document['kind']}/{document['metadata']['name']}"] = document
    return resources


def containers(deployment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def env_keys(resource: dict[str, Any]) -> set[str]:
    return set(resource.get("data", {})) | set(resource.get("stringData", {}))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_passes_strict_schema_validation(version: str) -> None:
    files = sorted(K8S.glob("*.yaml"))
    checked = 0
    for path in files:
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(document, version, strict=True)
            checked += 1
    assert checked == 10  # every resource file and the Secret example


def test_an_unknown_field_is_refused_so_validation_can_fail() -> None:
    deployment = manifests()["Deployment/bountyexpo-gateway"]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {path.name for path in K8S.glob("*.yaml")}
    assert set(kustomization["resources"]) == on_disk - {
        "kustomization.yaml",
        "secret.example.yaml",
    }


def test_selectors_select_the_pods_they_are_meant_for() -> None:
    resources = manifests()
    gateway = resources["Deployment/bountyexpo-gateway"]
    worker = resources["Deployment/bountyexpo-worker"]
    for deployment in (gateway, worker):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    gateway_labels = gateway["spec"]["template"]["metadata"]["labels"]
    worker_labels = worker["spec"]["template"]["metadata"]["labels"]
    assert resources["Service/bountyexpo-gateway"]["spec"]["selector"].items() <= (
        gateway_labels.items()
    )
    pdb = resources["PodDisruptionBudget/bountyexpo-gateway"]["spec"]["selector"]["matchLabels"]
    assert pdb.items() <= gateway_labels.items()
    pdb = resources["PodDisruptionBudget/bountyexpo-worker"]["spec"]["selector"]["matchLabels"]
    assert pdb.items() <= worker_labels.items()
    target = resources["HorizontalPodAutoscaler/bountyexpo-gateway"]["spec"]["scaleTargetRef"]
    assert f"{target['kind']}/{target['name']}" == "Deployment/bountyexpo-gateway"
    backend = resources["Ingress/bountyexpo-gateway"]["spec"]["rules"][0]["http"]["paths"][0]
    assert backend["backend"]["service"]["name"] == "bountyexpo-gateway"


def test_probes_and_scrape_paths_are_routes_the_gateway_serves() -> None:
    from app.main import create_app

    app = create_app(Settings(_env_file=None))
    paths = {getattr(route, "path", None) for route in app.routes}
    gateway = manifests()["Deployment/bountyexpo-gateway"]
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    probed = {
        container[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probed == {"/health/live", "/health/ready"}
    scraped = gateway["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
    assert sorted((probed | {scraped}) - paths) == []


def test_every_variable_is_a_setting_and_the_pods_read_both_sources() -> None:
    resources = manifests()
    secret = next(yaml.safe_load_all((K8S / "secret.example.yaml").read_text()))
    known = {name.upper() for name in Settings.model_fields}
    configured = env_keys(resources["ConfigMap/bountyexpo-config"]) | env_keys(secret)
    assert sorted(configured - known) == []
    for name in ("Deployment/bountyexpo-gateway", "Deployment/bountyexpo-worker"):
        for container in containers(resources[name]):
            sources = {next(iter(source.values()))["name"] for source in container["envFrom"]}
            assert sources == {"bountyexpo-config", "bountyexpo-secrets"}, container["name"]


def test_the_example_secret_is_refused_in_production() -> None:
    config = manifests()["ConfigMap/bountyexpo-config"]["data"]
    secret = next(yaml.safe_load_all((K8S / "secret.example.yaml").read_text()))["stringData"]
    values = {name.lower(): value for name, value in {**config, **secret}.items()}
    with pytest.raises(ValueError, match="refusing to start in production") as refused:
        Settings(_env_file=None, **values)
    assert "JWT_SECRET" in str(refused.value)


def test_grace_periods_outlast_the_drains() -> None:
    resources = manifests()
    config = resources["ConfigMap/bountyexpo-config"]["data"]
    worker = resources["Deployment/bountyexpo-worker"]["spec"]["template"]["spec"]
    drain = float(config["WORKER_SHUTDOWN_TIMEOUT_SECONDS"])
    assert worker["terminationGracePeriodSeconds"] >= drain + 10
    gateway = resources["Deployment/bountyexpo-gateway"]["spec"]["template"]["spec"]
    pre_stop = int(gateway["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][1])
    assert gateway["terminationGracePeriodSeconds"] >= pre_stop + GRACEFUL_SHUTDOWN_SECONDS + 5


def test_containers_run_unprivileged() -> None:
    resources = manifests()
    for name in ("Deployment/bountyexpo-gateway", "Deployment/bountyexpo-worker"):
        pod = resources[name]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
        for container in containers(resources[name]):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
