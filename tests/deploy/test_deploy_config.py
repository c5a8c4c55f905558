"""The deployment files set only environment variables the services read.

pydantic-settings ignores unknown variables, so a misspelt name in docker-compose.yml or a
Kubernetes manifest would silently leave a default (e.g. a localhost database) in place.
"""

from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from caremesh_insurance.settings import InsuranceSettings
from caremesh_notifications.settings import NotificationsSettings
from caremesh_records.settings import RecordsSettings
from caremesh_scheduling.settings import SchedulingSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"

SETTINGS: dict[str, type[BaseSettings]] = {
    "scheduling": SchedulingSettings,
    "records": RecordsSettings,
    "insurance": InsuranceSettings,
    "notifications": NotificationsSettings,
}
PORTS = {"scheduling": 8001, "records": 8002, "insurance": 8003, "notifications": 8004}
REQUIRED = ("AMQP_URL", "MONGODB_URL", "HTTP_HOST")
NAME_LABEL = "app.kubernetes.io/name"


def prefix(service: str) -> str:
    return SETTINGS[service].model_config["env_prefix"]


def env_problems(service: str, names: list[str]) -> list[str]:
    """Names that the service's settings class would not read."""
    settings, pre = SETTINGS[service], prefix(service)
    fields = {f.upper() for f in settings.model_fields}
    problems = []
    for name in names:
        if not name.startswith(pre):
            problems.append(f"{name}: does not start with {pre}")
        elif name[len(pre) :].upper() not in fields:
            problems.append(f"{name}: {settings.__name__} has no field {name[len(pre) :].lower()!r}")
    return problems


def missing(service: str, names: list[str]) -> list[str]:
    return [prefix(service) + r for r in REQUIRED if prefix(service) + r not in names]


# -- docker compose -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_env(service_def: dict) -> dict[str, str]:
    env = service_def.get("environment") or {}
    if isinstance(env, list):  # the "NAME=value" form
        env = dict(item.partition("=")[::2] for item in env)
    return {k: str(v) for k, v in env.items()}


@pytest.mark.parametrize("service", SETTINGS)
def test_compose_env_names_are_read_by_the_service(compose: dict, service: str) -> None:
    names = list(compose_env(compose["services"][service]))
    assert env_problems(service, names) == []
    assert missing(service, names) == []


@pytest.mark.parametrize("service", SETTINGS)
def test_compose_service_is_built_healthchecked_and_published(compose: dict, service: str) -> None:
    svc = compose["services"][service]
    assert svc["build"]["context"] == "."
    assert svc["build"]["dockerfile"] == "services/Dockerfile"
    assert svc["build"]["args"] == {"SERVICE": service, "PORT": str(PORTS[service])}
    assert svc.get("healthcheck", {}).get("test"), "no healthcheck"
    port = PORTS[service]
    assert f"{port}:{port}" in svc.get("ports", [])
    env = compose_env(svc)
    assert env.get(prefix(service) + "HTTP_PORT", str(SETTINGS[service].model_fields["http_port"].default)) == str(port)
    for dep, cond in svc.get("depends_on", {}).items():
        assert cond["condition"] == "service_healthy", dep
        assert compose["services"][dep].get("healthcheck"), f"{dep} has no healthcheck"


# -- Dockerfiles --------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_and_parameterized_by_service() -> None:
    text = (ROOT / "services" / "Dockerfile").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert sum(ln.upper().startswith("FROM ") for ln in lines) >= 2
    # Both stages take the service name; the runtime also its port.
    assert sum(ln == "ARG SERVICE" for ln in lines) == 2 and "ARG PORT" in lines
    users = [ln.split()[1] for ln in lines if ln.upper().startswith("USER ")]
    assert users, "no USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]} is not a numeric non-root UID"
    assert "EXPOSE ${PORT}" in lines
    assert any(ln.upper().startswith("HEALTHCHECK") for ln in lines) and "/healthz" in text
    assert "python -m caremesh_${CAREMESH_SERVICE}" in lines[-1]
    for service in SETTINGS:  # the module each SERVICE value names exists
        assert (ROOT / "services" / service / "src" / f"caremesh_{service}" / "__main__.py").is_file()


# -- Kubernetes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for resource in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / resource).read_text()) if d]
    return docs


def of_kind(manifests: list[dict], kind: str, service: str) -> list[dict]:
    return [d for d in manifests if d["kind"] == kind and d["metadata"].get("labels", {}).get(NAME_LABEL) == service]


def test_every_configmap_belongs_to_a_service(manifests: list[dict]) -> None:
    for cm in (d for d in manifests if d["kind"] == "ConfigMap"):
        assert cm["metadata"].get("labels", {}).get(NAME_LABEL) in SETTINGS, cm["metadata"]["name"]


@pytest.mark.parametrize("service", SETTINGS)
def test_configmap_env_names_are_read_by_the_service(manifests: list[dict], service: str) -> None:
    [cm] = of_kind(manifests, "ConfigMap", service)
    names = list(cm["data"])
    assert env_problems(service, names) == []
    assert missing(service, names) == []


@pytest.mark.parametrize("service", SETTINGS)
def test_deployment_reads_its_configmap_and_secret(manifests: list[dict], service: str) -> None:
    [cm] = of_kind(manifests, "ConfigMap", service)
    [deploy] = of_kind(manifests, "Deployment", service)
    pod = deploy["spec"]["template"]["spec"]
    [container] = pod["containers"]
    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
    assert refs == [cm["metadata"]["name"]]
    names = [e["name"] for e in container.get("env", [])]
    assert env_problems(service, names) == []
    assert prefix(service) + "JWT_SECRET" in names
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert container["ports"][0]["containerPort"] == int(cm["data"].get(prefix(service) + "HTTP_PORT", PORTS[service]))
    assert of_kind(manifests, "Service", service) and of_kind(manifests, "PodDisruptionBudget", service)
