"""The deployment files set only environment variables the services read, run in production mode
and take their secrets from Secrets mounted as files.

pydantic-settings ignores unknown variables, so a misspelt name in docker-compose.yml or a
Kubernetes manifest would silently leave a default (e.g. a localhost database) in place.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from caremesh_insurance.settings import InsuranceSettings
from caremesh_kit.links import DEV_OFFER_LINK_SECRET
from caremesh_kit.settings import DEV_JWT_SECRET
from caremesh_notifications.settings import DEV_SURVEY_LINK_SECRET, NotificationsSettings
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
MODE = "CAREMESH_ENV"  # read by every service, without a prefix
# Settings whose values are secrets: keys are never written into compose or a ConfigMap, and
# ConfigMaps do not hold the connection URLs (which carry passwords) either.
SECRET_KEYS = ("JWT_SECRET", "LINK_SECRET", "WEBHOOK_SECRET", "AUTH_TOKEN", "PASSWORD")
SECRET_URLS = ("AMQP_URL", "MONGODB_URL")
# A compose value taken from the user's environment, empty when unset (SMS and webhook off).
FROM_ENVIRONMENT = re.compile(r"\$\{[A-Z0-9_]+(:-)?\}")
# The keys each service reads from files (<PREFIX><SETTING>_FILE), as compose and k8s give them.
KEY_FILES = {
    "scheduling": {"JWT_SECRET", "OFFER_LINK_SECRET"},
    "records": {"JWT_SECRET"},
    "insurance": {"JWT_SECRET"},
    "notifications": {"JWT_SECRET", "OFFER_LINK_SECRET", "SURVEY_LINK_SECRET"},
}


def prefix(service: str) -> str:
    return SETTINGS[service].model_config["env_prefix"]


def setting(service: str, name: str) -> str:
    """The field a variable sets: SCHEDULING_JWT_SECRET_FILE sets JWT_SECRET from a file."""
    field = name[len(prefix(service)) :].upper()
    fields = {f.upper() for f in SETTINGS[service].model_fields}
    return field.removesuffix("_FILE") if field not in fields and field.endswith("_FILE") else field


def env_problems(service: str, names: list[str]) -> list[str]:
    """Names that the service's settings class would not read."""
    settings, pre = SETTINGS[service], prefix(service)
    fields = {f.upper() for f in settings.model_fields}
    problems = []
    for name in names:
        if name == MODE:
            continue
        if not name.startswith(pre):
            problems.append(f"{name}: does not start with {pre}")
        elif setting(service, name) not in fields:
            problems.append(f"{name}: {settings.__name__} has no field {setting(service, name).lower()!r}")
    return problems


def missing(service: str, names: list[str]) -> list[str]:
    given = {setting(service, n) for n in names if n.startswith(prefix(service))}
    return [prefix(service) + r for r in REQUIRED if r not in given]


def secret_in_the_clear(service: str, env: dict[str, str], secrets: tuple[str, ...] = SECRET_KEYS) -> list[str]:
    """Secret settings given by value in the file rather than through a file of their own."""
    return [
        n
        for n, v in env.items()
        if n.startswith(prefix(service))
        and setting(service, n) == n[len(prefix(service)) :]
        and n.endswith(secrets)
        and v
        and not FROM_ENVIRONMENT.fullmatch(v)
    ]


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


@pytest.mark.parametrize("service", SETTINGS)
def test_compose_runs_in_production_mode_with_keys_from_secret_files(compose: dict, service: str) -> None:
    svc, pre = compose["services"][service], prefix(service)
    env = compose_env(svc)
    assert env.get(MODE) == "production"
    assert secret_in_the_clear(service, env) == []
    files = {n[len(pre) : -len("_FILE")]: v for n, v in env.items() if n.startswith(pre) and n.endswith("_FILE")}
    assert KEY_FILES[service] <= set(files)
    mounted = set(svc.get("secrets", []))
    for field, path in files.items():
        name = path.removeprefix("/run/secrets/")
        assert path.startswith("/run/secrets/") and name in mounted, f"{field}: {path} is not a mounted secret"
        assert "file" in compose["secrets"][name], name


def test_compose_has_no_fallback_to_a_development_key() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    dev_keys = [DEV_JWT_SECRET, DEV_OFFER_LINK_SECRET, DEV_SURVEY_LINK_SECRET]
    assert [k for k in dev_keys if k in text] == []
    assert "change-me" not in text.lower()


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


def container_of(manifests: list[dict], service: str) -> tuple[dict, dict]:
    [deploy] = of_kind(manifests, "Deployment", service)
    pod = deploy["spec"]["template"]["spec"]
    [container] = pod["containers"]
    return pod, container


def pod_env(manifests: list[dict], service: str) -> dict[str, str]:
    """The variables a pod sees: its ConfigMap's, then the container's own."""
    [cm] = of_kind(manifests, "ConfigMap", service)
    _, container = container_of(manifests, service)
    return dict(cm["data"]) | {e["name"]: e.get("value", "") for e in container.get("env", [])}


def secret_files(pod: dict, container: dict) -> dict[str, tuple[str, str, bool]]:
    """Path of each file the container sees from a Secret -> (Secret, key, optional)."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        sources = [s["secret"] for s in volume.get("projected", {}).get("sources", []) if "secret" in s]
        sources += [{"name": volume["secret"]["secretName"], **volume["secret"]}] if "secret" in volume else []
        for source in sources:
            for item in source.get("items", []):
                path = f"{mount['mountPath']}/{item['path']}"
                files[path] = (source["name"], item["key"], bool(source.get("optional")))
    return files


@pytest.mark.parametrize("service", SETTINGS)
def test_configmap_env_names_are_read_by_the_service(manifests: list[dict], service: str) -> None:
    [cm] = of_kind(manifests, "ConfigMap", service)
    names = list(cm["data"])
    assert env_problems(service, names) == []
    assert missing(service, list(pod_env(manifests, service))) == []


@pytest.mark.parametrize("service", SETTINGS)
def test_configmap_holds_no_secret(manifests: list[dict], service: str) -> None:
    [cm] = of_kind(manifests, "ConfigMap", service)
    assert secret_in_the_clear(service, cm["data"], SECRET_KEYS + SECRET_URLS) == []
    assert [n for n, v in cm["data"].items() if "CHANGE_ME" in str(v)] == []


@pytest.mark.parametrize("service", SETTINGS)
def test_deployment_reads_its_configmap_and_secret(manifests: list[dict], service: str) -> None:
    [cm] = of_kind(manifests, "ConfigMap", service)
    pod, container = container_of(manifests, service)
    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
    assert refs == [cm["metadata"]["name"]]
    names = [e["name"] for e in container.get("env", [])]
    assert env_problems(service, names) == []
    assert prefix(service) + "JWT_SECRET_FILE" in names
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert container["ports"][0]["containerPort"] == int(cm["data"].get(prefix(service) + "HTTP_PORT", PORTS[service]))
    assert of_kind(manifests, "Service", service) and of_kind(manifests, "PodDisruptionBudget", service)


@pytest.mark.parametrize("service", SETTINGS)
def test_deployment_runs_in_production_mode_with_secrets_mounted_as_files(manifests: list[dict], service: str) -> None:
    pod, container = container_of(manifests, service)
    env, pre = pod_env(manifests, service), prefix(service)
    assert env.get(MODE) == "production"
    assert [e["name"] for e in container.get("env", []) if "valueFrom" in e] == []  # no secret in a variable
    files = secret_files(pod, container)
    given = {n[len(pre) : -len("_FILE")]: v for n, v in env.items() if n.startswith(pre) and n.endswith("_FILE")}
    assert KEY_FILES[service] | set(SECRET_URLS) <= set(given)
    for field, path in given.items():
        assert path in files, f"{pre}{field}_FILE: {path} is no file of a mounted Secret"
        assert not files[path][2], f"{pre}{field}_FILE: {path} comes from an optional source"
    read_only = {m["mountPath"] for m in container["volumeMounts"] if m.get("readOnly")}
    assert {p.rpartition("/")[0] for p in files} <= read_only


def test_the_secret_shapes_name_every_key_the_deployments_mount(manifests: list[dict]) -> None:
    shapes = {
        d["metadata"]["name"]: set(d["stringData"]) for d in yaml.safe_load_all((K8S / "secret.yaml").read_text())
    }
    assert all(d["kind"] == "Secret" for d in yaml.safe_load_all((K8S / "secret.yaml").read_text()))
    assert "secret.yaml" not in yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert not [d for d in manifests if d["kind"] == "Secret"]  # applying them would reset the real keys
    per_service = shapes["caremesh-scheduling"]
    for service in SETTINGS:
        for secret, key, optional in secret_files(*container_of(manifests, service)).values():
            if optional:
                continue
            expected = shapes["caremesh-secrets"] if secret == "caremesh-secrets" else per_service
            assert secret in ("caremesh-secrets", f"caremesh-{service}"), secret
            assert key in expected, f"{service} mounts {secret}/{key}, which secret.yaml does not show"


class StrictLoader(yaml.SafeLoader):
    """Refuses a key given twice in one mapping (kubectl's strict decoding does too)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {duplicates}", node.start_mark)
        return super().construct_mapping(node, deep=deep)


def test_kustomize_builds_the_manifests(manifests: list[dict]) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    built = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.load_all(built.stdout, Loader=StrictLoader) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == sorted(
        (d["kind"], d["metadata"]["name"]) for d in manifests
    )
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"caremesh"}
    for path in K8S.glob("*.yaml"):
        list(yaml.load_all(path.read_text(), Loader=StrictLoader))
