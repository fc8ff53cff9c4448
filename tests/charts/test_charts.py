"""The charts, validated offline: helm lint and ct lint, every chart rendered with each of
its ci/*-values.yaml through kubeconform -strict (Kubernetes and CRD schemas), values
schemas that refuse unknown keys, cross-field checks, hadolint on the Dockerfiles, and the
containers running what the local stack runs."""

import base64
import json
import re
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from questlog_ingest.app import READY_CHECK_SECONDS
from questlog_ingest.server import GRACEFUL_SHUTDOWN_SECONDS
from questlog_registry.kafka import REPORT_GRACE_SECONDS
from questlog_settings import (
    ApiSettings,
    LoadSettings,
    RegistrySettings,
    SparkSettings,
    read,
    variables,
)

from questlog import load
from questlog.images import IMAGES
from questlog.images.bases import STANDINS
from questlog.settings import REPO_ROOT, Settings
from questlog.stack.components import (
    CATALOGS,
    PIPELINE_TOPICS,
    REGISTRY_GRACEFUL_SHUTDOWN_SECONDS,
    TOPIC_CONFIGS,
    Canary,
    IngestApi,
    Metastore,
    PilotRegistry,
    Prometheus,
    Trino,
)
from questlog.stack.spark import PIPELINE_CONF, PLACED_CONF_KEYS
from tests.charts.conftest import (
    CHARTS,
    CRD_SCHEMAS,
    DEPLOYABLE,
    HELM_DIR,
    KUBE_VERSION,
    ci_values,
    documents,
    find,
    run,
    template,
    tool,
)
from tests.helpers import properties

pytestmark = pytest.mark.usefixtures("built")
PRODUCTION = HELM_DIR / "questlog" / "ci" / "production-values.yaml"
PROFILES = pytest.mark.parametrize(
    "values", [[], ["--values", str(PRODUCTION)]], ids=["laptop", "production"]
)
RENDERINGS = [(chart, values) for chart in DEPLOYABLE for values in ci_values(chart)]
DOCKERFILES = [REPO_ROOT / image.dockerfile for image in IMAGES] + [
    REPO_ROOT / standin.dockerfile for standin in STANDINS.values() if standin.dockerfile
]
SCRIPTS = ["k8s/deploy.sh", "spark-apps/entrypoint.sh", "helm/spark-operator-crds.sh"] + [
    str(script.relative_to(REPO_ROOT)) for script in sorted((REPO_ROOT / "images").rglob("*.sh"))
]
# kubeconform's schema locations: the Kubernetes schemas, then the CRDs'.
K8S_LOCATION = (
    "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
    "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
)
CRD_LOCATION = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


def kubeconform(manifests: str, k8s_schemas: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            tool("kubeconform"),
            "-strict",
            "-summary",
            "-kubernetes-version",
            KUBE_VERSION,
            "-schema-location",
            f"{k8s_schemas}/{K8S_LOCATION}",
            "-schema-location",
            f"{CRD_SCHEMAS}/{CRD_LOCATION}",
            # No schema of PrometheusRule here; its rules are checked by promtool
            # (tests/unit/tooling/test_prometheus_rules.py) and compared below.
            "-skip",
            "PrometheusRule",
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
    )


# kube-score's checks the charts do not follow, and why. (The few objects a check does not
# fit carry a `kube-score/ignore` annotation saying why.) Pods also request CPU but set no
# CPU limit, which would throttle them below what the node has free.
KUBE_SCORE_IGNORED = (
    # The images carry exact tags, and the test cluster has them loaded into its node with
    # no registry to pull from: `Always` would fail there.
    "container-image-pull-policy",
    # What the pods write outside their claims (Spark's shuffle files, Trino's spills) grows
    # with the load; a limit would evict them for it.
    "container-ephemeral-storage-request-and-limit",
    # The Spark images run as Spark's own user, 185 (non-root), as the spark-operator expects.
    "container-security-context-user-group-id",
    # Replicas are each profile's choice (one of each on the laptop's single node).
    "deployment-replicas",
    # The object store and Prometheus recreate their one pod: two cannot mount one
    # ReadWriteOnce claim. Two Trinos would not fit the laptop's memory.
    "deployment-strategy",
    # Egress stays open (the lake may be a cloud object store; the operator and the drivers
    # call the Kubernetes API). Ingress is checked below: every pod is isolated.
    "pod-networkpolicy",
)


def kube_score(manifests: str) -> subprocess.CompletedProcess[str]:
    ignored = [f"--ignore-test={check}" for check in KUBE_SCORE_IGNORED]
    minor = ".".join(KUBE_VERSION.split(".")[:2])
    command = [tool("kube_score"), "score", f"--kubernetes-version=v{minor}"]
    command += ["--output-format=ci", "--exit-one-on-warning", "--ignore-container-cpu-limit"]
    return subprocess.run(
        [*command, *ignored, "-"], input=manifests, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("chart", "values"), RENDERINGS, ids=[f"{c}-{v.name}" for c, v in RENDERINGS]
)
def test_kube_score_finds_nothing(chart: str, values: Path) -> None:
    result = kube_score(template(chart, "--values", str(values)).stdout)
    lines = result.stdout.splitlines()
    findings = [line for line in lines if not line.startswith(("[OK]", "[SKIPPED]"))]
    assert result.returncode == 0 and not findings, "\n".join(findings) + result.stderr


def test_kube_score_catches_a_container_without_resources() -> None:
    docs = documents("questlog-api")
    deployment = find(docs, "Deployment", "questlog-api")
    del deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    result = kube_score(yaml.safe_dump_all(docs))
    assert result.returncode != 0
    assert "(api) Memory limit is not set" in result.stdout


@pytest.mark.parametrize("chart", CHARTS)
def test_helm_lint_strict(chart: str) -> None:
    for values in ci_values(chart) or [None]:
        extra = ["--values", str(values)] if values else []
        result = run(tool("helm"), "lint", "--strict", str(HELM_DIR / chart), *extra)
        assert "0 chart(s) failed" in result.stdout


def test_ct_lint_every_chart() -> None:
    result = run(tool("ct"), "lint", "--config", str(HELM_DIR / "ct.yaml"), "--all")
    assert "All charts linted successfully" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("chart", "values"), RENDERINGS, ids=[f"{c}-{v.name}" for c, v in RENDERINGS]
)
def test_rendered_manifests_are_valid_kubernetes(
    chart: str, values: Path, k8s_schemas: Path
) -> None:
    manifests = template(chart, "--values", str(values)).stdout
    result = kubeconform(manifests, k8s_schemas)
    assert result.returncode == 0, result.stdout + result.stderr
    docs = [doc for doc in yaml.safe_load_all(manifests) if doc]
    skipped = sum(doc["kind"] == "PrometheusRule" for doc in docs)
    valid = len(docs) - skipped
    assert f"Valid: {valid}, Invalid: 0, Errors: 0, Skipped: {skipped}" in result.stdout


def test_kubeconform_catches_a_wrong_field(k8s_schemas: Path) -> None:
    manifests = template("questlog-api").stdout.replace("containerPort:", "containerPorts:")
    result = kubeconform(manifests, k8s_schemas)
    assert result.returncode != 0
    assert "containerPorts" in result.stdout


@pytest.mark.parametrize(
    ("chart", "setting"),
    [
        ("questlog-api", "replicas=3"),
        ("questlog-api", "image.tagg=1"),
        ("questlog-api", "writeKey.secret=mine"),
        # The registry's database moved under registry.database.
        ("questlog-api", "registry.url=sqlite://"),
        ("questlog-api", "registry.database.password=x"),
        ("questlog-stream", "lake.s3.bucket=x"),
        ("questlog-metastore", "postgresql.size=1Gi"),
        ("questlog", "kafka.brokers=3"),
        ("questlog", "api.autoscaling.max=3"),
    ],
)
def test_values_schema_refuses_unknown_keys(chart: str, setting: str) -> None:
    result = template(chart, "--set", setting, check=False)
    assert result.returncode != 0
    key = setting.split("=")[0].rsplit(".", 1)[-1]
    assert f"additional properties '{key}' not allowed" in result.stderr


@pytest.mark.parametrize(
    ("chart", "settings", "reason"),
    [
        (
            "questlog-api",
            ["autoscaling.minReplicas=5", "autoscaling.maxReplicas=2"],
            "autoscaling.minReplicas (5) is above autoscaling.maxReplicas (2)",
        ),
        ("questlog-api", ["settings.kafka_bootstrap=x:9092"], "set the Kafka bootstrap servers"),
        (
            "questlog-api",
            ["registry.database.url=sqlite:////tmp/questlog/registry.db"],
            "SQLite keeps each registry pod's pilots and write keys to itself; with 2 registry",
        ),
        (
            "questlog-api",
            ["settings.registry_url=http://r:8003"],
            "the registry's Service (registry.port), not settings.registry_url",
        ),
        ("questlog-api", ["settings.provisioned_write_key=k"], "comes from a Secret"),
        (
            "questlog-api",
            ["registry.settings.provisioned_write_key=k"],
            "comes from a Secret (writeKey.existingSecret), which the registry stores",
        ),
        (
            "questlog-api",
            ["registry.settings.database_url=sqlite://"],
            "with registry.database.url, not registry.settings.database_url",
        ),
        (
            "questlog-api",
            ["registry.settings.database_password=p"],
            "from a Secret (registry.database.passwordSecret)",
        ),
        ("questlog-api", ["registry.settings.url=http://r:8003"], "not registry.settings.url"),
        (
            "questlog-api",
            ["registry.settings.kafka_bootstrap=x:9092"],
            "with kafka.bootstrap, not registry.settings.kafka_bootstrap",
        ),
        (
            "questlog-api",
            ["registry.podDisruptionBudget.maxUnavailable=2"],
            "lets every one of the 2 registry replicas go down at once",
        ),
        ("questlog-stream", ["metastore.uri=http://hms:9083"], "must be a thrift:// URI"),
        ("questlog-metastore", ["postgresql.enabled=false"], "externalDatabase.url must be"),
        ("questlog", ["kafka.topics.replicas=3"], "is more than the 1 Kafka nodes"),
        ("questlog", ["metastore.enabled=false"], "stream.enabled needs metastore.enabled"),
        ("questlog", ["kafka.replicas=3"], "kafka.mode statefulset runs one KRaft node"),
        ("questlog", ["kafka.topics.partitions=6"], "apply to kafka.mode strimzi"),
        ("questlog", ["trino.url=http://t:8080"], "trino.url (http://t:8080) must be"),
        ("questlog", ["api.replicaCount=2"], "prometheus.enabled scrapes the API through"),
        (
            "questlog",
            ["api.registry.replicaCount=2", "api.registry.podDisruptionBudget.enabled=true"],
            "prometheus.enabled scrapes the pilot registry through its Service",
        ),
    ],
)
def test_inconsistent_values_fail_with_the_reason(
    chart: str, settings: list[str], reason: str
) -> None:
    args = [arg for setting in settings for arg in ("--set", setting)]
    result = template(chart, *args, check=False)
    assert result.returncode != 0
    assert reason in result.stderr


def test_config_change_rolls_the_pods_it_configures() -> None:
    """The API's settings roll the API's pods, the registry's the registry's, and neither
    the other's."""

    def checksums(*args: str) -> tuple[str, str]:
        docs = documents("questlog-api", *args)
        found = []
        for name in ("questlog-api", "questlog-api-registry"):
            template = find(docs, "Deployment", name)["spec"]["template"]
            found.append(template["metadata"]["annotations"]["checksum/config"])
        return found[0], found[1]

    api, registry = checksums()
    api_changed, registry_unchanged = checksums("--set", "settings.max_batch_events=100")
    assert api_changed != api and registry_unchanged == registry
    api_unchanged, registry_changed = checksums("--set", "registry.settings.retry_after_seconds=9")
    assert api_unchanged == api and registry_changed != registry


def test_the_api_stays_ready_on_a_busy_node_and_drains_before_it_stops() -> None:
    """The readiness probe outwaits /readyz's own wait for Kafka (with the default 1 s, probes
    timed out on the test cluster under load, and its one API pod left the Service: connections
    refused); a stopping pod serves until kube-proxy has dropped it, then Uvicorn drains, all
    within the grace period."""
    spec = find(documents("questlog-api"), "Deployment", "questlog-api")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["readinessProbe"]["timeoutSeconds"] > READY_CHECK_SECONDS
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = GRACEFUL_SHUTDOWN_SECONDS
    assert pre_stop >= 10 and spec["terminationGracePeriodSeconds"] > pre_stop + drain


def test_the_registry_drains_and_relays_its_outbox_before_it_stops() -> None:
    """A stopping registry serves until kube-proxy has dropped it, Uvicorn drains, then its
    outbox relay makes a last pass, which may wait for Kafka's acknowledgements as long as
    the delivery timeout (and the producer's grace for its reports): all within the grace
    period. Ready only while its database answers, not before it has been migrated."""
    docs = documents("questlog-api")
    spec = find(docs, "Deployment", "questlog-api-registry")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    relay = Settings().registry.delivery_timeout_seconds + REPORT_GRACE_SECONDS
    drain = REGISTRY_GRACEFUL_SHUTDOWN_SECONDS
    assert pre_stop >= 10
    assert spec["terminationGracePeriodSeconds"] > pre_stop + drain + relay


def container_settings(
    docs: list[dict[str, Any]], deployment: str
) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    """A Deployment's one container, the settings of the ConfigMap it reads, and the names
    of the variables it takes from Secrets."""
    (container,) = find(docs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    [source] = container["envFrom"]
    settings: dict[str, str] = find(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
    from_secrets = {e["name"] for e in container["env"] if "secretKeyRef" in e["valueFrom"]}
    return container, settings, from_secrets


def test_api_container_runs_the_local_stack_command(tmp_path: Path) -> None:
    docs = documents("questlog-api", "--set", "settings.max_batch_events=100")
    container, settings, from_secrets = container_settings(docs, "questlog-api")
    local = IngestApi(Settings(host="0.0.0.0", state_dir=tmp_path, api={"port": 8000}))
    assert container["command"] == ["python", *local.command()[1:]]
    assert set(settings) | from_secrets <= variables(ApiSettings)  # each one the API reads
    assert {"QUESTLOG__KAFKA__BOOTSTRAP", "QUESTLOG__REGISTRY__URL"} <= set(settings)
    assert from_secrets == {"QUESTLOG__PERSONAL_DATA_KEY"}
    assert settings["QUESTLOG__API__MAX_BATCH_EVENTS"] == "100"
    # No database nor the deployment's write key: the registry has them.
    assert not {name for name in set(settings) | from_secrets if "DATABASE" in name}
    assert not {name for name in set(settings) | from_secrets if "PROVISIONED" in name}


def test_registry_container_runs_the_local_stack_command(tmp_path: Path) -> None:
    docs = documents("questlog-api", "--set", "registry.settings.retry_after_seconds=9")
    container, settings, from_secrets = container_settings(docs, "questlog-api-registry")
    local = PilotRegistry(Settings(host="0.0.0.0", state_dir=tmp_path, registry={"port": 8003}))
    assert container["command"] == ["python", *local.command()[1:]]
    assert set(settings) | from_secrets <= variables(RegistrySettings)  # each one it reads
    assert {
        "QUESTLOG__KAFKA__BOOTSTRAP",
        "QUESTLOG__REGISTRY__DATABASE_URL",
        "QUESTLOG__REGISTRY__PROVISIONED_WRITE_KEY_NAME",
    } <= set(settings)
    assert from_secrets == {
        "QUESTLOG__PERSONAL_DATA_KEY",
        "QUESTLOG__REGISTRY__PROVISIONED_WRITE_KEY",
        "QUESTLOG__REGISTRY__DATABASE_PASSWORD",
    }
    assert settings["QUESTLOG__REGISTRY__RETRY_AFTER_SECONDS"] == "9"
    # The state folder and SQLite's database (when chosen) need a writable /tmp.
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def selected(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("port", [8003, 9000])
def test_the_api_reaches_the_registry_at_its_service(port: int) -> None:
    docs = documents("questlog-api", "--set", f"registry.port={port}")
    _, settings, _ = container_settings(docs, "questlog-api")
    url = urllib.parse.urlsplit(settings["QUESTLOG__REGISTRY__URL"])
    assert (url.scheme, url.hostname, url.port) == ("http", "questlog-api-registry", port)
    service = find(docs, "Service", url.hostname)
    [service_port] = service["spec"]["ports"]
    assert service_port["port"] == port
    template = find(docs, "Deployment", "questlog-api-registry")["spec"]["template"]
    assert selected(service["spec"]["selector"], template["metadata"]["labels"])
    (container,) = template["spec"]["containers"]
    [container_port] = container["ports"]
    assert service_port["targetPort"] == container_port["name"]
    assert container_port["containerPort"] == port and str(port) in container["command"]


@pytest.mark.parametrize("values", ci_values("questlog-api"), ids=lambda path: path.name)
def test_the_api_and_the_registry_each_select_only_their_own_pods(values: Path) -> None:
    """Each selector of the chart (its Deployments', Services', disruption budgets' and
    NetworkPolicies') selects the pods of one workload, its own: the registry's pods never
    get the API's clients, nor its budget, nor its open policy; the autoscaler scales the
    API, and each ServiceMonitor scrapes one Service."""
    docs = documents("questlog-api", "--values", str(values))
    pods = {
        doc["metadata"]["name"]: doc["spec"]["template"]["metadata"]["labels"]
        for doc in docs
        if doc["kind"] == "Deployment"
    }
    pods |= {
        doc["metadata"]["name"]: doc["metadata"]["labels"] for doc in docs if doc["kind"] == "Pod"
    }
    assert set(pods) == {"questlog-api", "questlog-api-registry", "questlog-api-test"}

    def owner(name: str) -> str:
        if name.endswith("-tests"):
            return "questlog-api-test"
        return "questlog-api-registry" if "registry" in name else "questlog-api"

    checked = set()
    for doc in docs:
        spec, name = doc.get("spec", {}), f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in ("Deployment", "PodDisruptionBudget"):
            selector = spec["selector"]["matchLabels"]
        elif doc["kind"] == "Service":
            selector = spec["selector"]
        elif doc["kind"] == "NetworkPolicy":
            selector = spec["podSelector"]["matchLabels"]
        else:
            continue
        chosen = [pod for pod, labels in pods.items() if selected(selector, labels)]
        assert chosen == [owner(doc["metadata"]["name"])], f"{name} selects {chosen}"
        checked.add(doc["kind"])
    assert {"Deployment", "Service", "NetworkPolicy"} <= checked
    for hpa in (doc for doc in docs if doc["kind"] == "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] == "questlog-api"
    services = {
        d["metadata"]["name"]: d["metadata"]["labels"] for d in docs if d["kind"] == "Service"
    }
    for monitor in (doc for doc in docs if doc["kind"] == "ServiceMonitor"):
        selector = monitor["spec"]["selector"]
        absent = [
            e["key"]
            for e in selector.get("matchExpressions", [])
            if e["operator"] == "DoesNotExist"
        ]
        chosen = [
            service
            for service, labels in services.items()
            if selected(selector["matchLabels"], labels) and not set(absent) & set(labels)
        ]
        assert chosen == [monitor["metadata"]["name"]], chosen


def test_the_pilot_registry_shares_the_metastores_postgresql() -> None:
    """On Kubernetes the registry's replicas keep their pilots in one PostgreSQL database:
    the one the metastore chart runs, which creates it and holds its password."""
    docs = documents("questlog")
    container, settings, _ = container_settings(docs, "questlog-api-registry")
    url = settings["QUESTLOG__REGISTRY__DATABASE_URL"]
    service = find(docs, "StatefulSet", "questlog-metastore-postgresql")["spec"]["serviceName"]
    assert url == f"postgresql+psycopg://metastore@{service}:5432/registry"
    initdb = find(docs, "ConfigMap", f"{service}-initdb")
    assert "CREATE DATABASE registry;" in initdb["data"]["extra-databases.sql"]
    password = secret_env(container, "QUESTLOG__REGISTRY__DATABASE_PASSWORD")
    assert password == {"name": service, "key": "password"}
    sqlite = [
        "registry.replicaCount=1",
        "registry.podDisruptionBudget.enabled=false",
        "registry.database.url=sqlite:////tmp/r.db",
        "registry.database.passwordSecret=",
    ]
    single = documents("questlog-api", *(arg for value in sqlite for arg in ("--set", value)))
    container, settings, from_secrets = container_settings(single, "questlog-api-registry")
    assert settings["QUESTLOG__REGISTRY__DATABASE_URL"] == "sqlite:////tmp/r.db"
    assert "QUESTLOG__REGISTRY__DATABASE_PASSWORD" not in from_secrets
    assert not [
        d
        for d in single
        if d["kind"] == "PodDisruptionBudget" and "registry" in d["metadata"]["name"]
    ]


def secret_env(container: dict[str, Any], name: str) -> dict[str, str]:
    [found] = [e for e in container.get("env", []) if e["name"] == name]
    reference: dict[str, str] = found["valueFrom"]["secretKeyRef"]
    return reference


def test_the_charts_own_clients_post_with_the_key_the_registry_stores() -> None:
    """The registry stores the key of the chart's Secret (the API asks the registry whose
    keys its clients send); the canary, the test hooks and the load test Job send that key;
    the production profile closes the game routes too."""
    loadtest = str(HELM_DIR / "questlog" / "ci" / "loadtest-values.yaml")
    for extra, secret in [
        ([], "questlog-api-write-key"),
        (["--set", "api.writeKey.existingSecret=mine"], "mine"),
    ]:
        docs = documents("questlog", "--values", loadtest, *extra)
        reference = {"name": secret, "key": "write-key"}
        registry, settings, _ = container_settings(docs, "questlog-api-registry")
        assert secret_env(registry, "QUESTLOG__REGISTRY__PROVISIONED_WRITE_KEY") == reference
        assert settings["QUESTLOG__REGISTRY__PROVISIONED_WRITE_KEY_NAME"] == "cluster"
        _, _, from_secrets = container_settings(docs, "questlog-api")
        assert from_secrets == {"QUESTLOG__PERSONAL_DATA_KEY"}
        clients = [
            find(docs, "Deployment", "questlog-canary")["spec"]["template"]["spec"],
            find(docs, "Pod", "questlog-pipeline-test")["spec"],
            find(docs, "Pod", "questlog-api-test")["spec"],
            find(docs, "Job", "questlog-loadtest-20261125-1200")["spec"]["template"]["spec"],
        ]
        for pod in clients:
            assert secret_env(pod["containers"][0], "QUESTLOG_WRITE_KEY") == reference
        made = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == secret]
        assert bool(made) == (secret == "questlog-api-write-key")
    key = base64.b64decode(
        find(documents("questlog"), "Secret", "questlog-api-write-key")["data"]["write-key"]
    )
    assert key.startswith(b"qlk_") and len(key) > 40
    config = find(documents("questlog"), "ConfigMap", "questlog-api")["data"]
    assert "QUESTLOG__API__GAME_ROUTES_REQUIRE_WRITE_KEY" not in config
    production = find(
        documents("questlog", "--values", str(PRODUCTION)), "ConfigMap", "questlog-api"
    )
    assert production["data"]["QUESTLOG__API__GAME_ROUTES_REQUIRE_WRITE_KEY"] == "true"


def test_the_api_and_the_registry_hash_personal_data_with_one_key_from_its_secret() -> None:
    """Both publish events whose personal fields are hashed: with the same key, a value
    gets the same token in either's events."""
    for extra, secret in [
        ([], "questlog-api-personal-data-key"),
        (["--set", "api.personalDataKey.existingSecret=mine"], "mine"),
    ]:
        docs = documents("questlog", *extra)
        reference = {"name": secret, "key": "personal-data-key"}
        for deployment in ("questlog-api", "questlog-api-registry"):
            container, _, _ = container_settings(docs, deployment)
            assert secret_env(container, "QUESTLOG__PERSONAL_DATA_KEY") == reference
        made = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == secret]
        assert bool(made) == (secret == "questlog-api-personal-data-key")


def test_production_limits_rates_at_the_ingress_and_per_key_and_trusts_the_ingress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The laptop profile has no Ingress and no limits; production limits each client
    address at the Ingress (across replicas), each key in the API, and its settings are
    ones the API takes."""
    laptop = documents("questlog")
    assert not [d for d in laptop if d["kind"] == "Ingress"]
    config = find(laptop, "ConfigMap", "questlog-api")["data"]
    assert not {"QUESTLOG__API__RATE_LIMIT_PER_KEY", "QUESTLOG__API__TRUSTED_PROXIES"} & set(config)
    production = documents("questlog", "--values", str(PRODUCTION))
    ingress = find(production, "Ingress", "questlog-api")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rps"]
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    service = find(production, "Service", "questlog-api")
    assert path["backend"]["service"] == {"name": "questlog-api", "port": {"name": "http"}}
    assert "http" in [port["name"] for port in service["spec"]["ports"]]
    for name, value in find(production, "ConfigMap", "questlog-api")["data"].items():
        monkeypatch.setenv(name, value)  # as the API's pods read them
    taken = read(ApiSettings)
    assert taken.api.rate_limit_per_key and taken.api.trusted_proxies


def spark_container(pod: dict[str, Any], role: str) -> dict[str, Any]:
    """The container of a driver's or executor's pod template, which Spark builds on."""
    (container,) = pod["template"]["spec"]["containers"]
    assert container["name"] == f"spark-kubernetes-{role}"
    return container


def container_env(pod: dict[str, Any], role: str) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in spark_container(pod, role)["env"]}


# What the streaming app needs set where the local stack's defaults do not hold.
READ_BY_THE_STREAM = {
    "QUESTLOG__KAFKA__BOOTSTRAP",
    "QUESTLOG__LAKE__ROOT",
    "QUESTLOG__LAKE__CHECKPOINT_ROOT",
    "QUESTLOG__LAKE__MAINTENANCE_MINUTES",
    "QUESTLOG__STREAM__METRICS_HOST",
    "QUESTLOG__STREAM__METRICS_PORT",
}


def test_spark_application_runs_the_local_stream_with_its_settings() -> None:
    app = find(documents("questlog-stream"), "SparkApplication")["spec"]
    assert app["mainApplicationFile"].endswith("/questlog_spark/stream.py")
    assert app["restartPolicy"]["type"] == "Always"
    conf = app["sparkConf"]
    assert PIPELINE_CONF.items() <= conf.items()
    assert set(PLACED_CONF_KEYS) <= set(conf)
    for role in ("driver", "executor"):
        env = set(container_env(app[role], role))
        assert READ_BY_THE_STREAM <= env <= variables(SparkSettings), env - variables(SparkSettings)
        # Pod templates carry what the operator's webhook would otherwise add, so the app
        # runs under an operator without one.
        assert not {"env", "envFrom", "securityContext", "podSecurityContext"} & set(app[role])
        assert spark_container(app[role], role)["envFrom"]
    assert container_env(app["driver"], "driver")["QUESTLOG__LAKE__CHECKPOINT_ROOT"].startswith(
        "s3a://"
    )


@pytest.mark.parametrize(
    ("job", "app", "arguments"),
    [
        ("assessments", "assessments", None),
        ("maintenance", "compact", ["--retain-hours=24", "--retain-last=10", "--orphan-hours=72"]),
    ],
)
def test_the_batch_jobs_run_the_local_jobs_on_a_schedule(
    job: str, app: str, arguments: list[str] | None
) -> None:
    docs = documents("questlog-stream", "--set", f"{job}.schedule=@every 2h")
    (scheduled,) = [
        d["spec"]
        for d in docs
        if d["kind"] == "ScheduledSparkApplication" and d["metadata"]["name"].endswith(job)
    ]
    assert scheduled["concurrencyPolicy"] == "Forbid"
    spec, stream = scheduled["template"], find(docs, "SparkApplication")["spec"]
    assert spec["mainApplicationFile"].endswith(f"/questlog_spark/{app}.py")
    assert spec.get("arguments") == arguments
    assert scheduled["schedule"] == "@every 2h"
    assert spec["sparkConf"] == stream["sparkConf"] and spec["image"] == stream["image"]
    for role in ("driver", "executor"):
        assert container_env(spec[role], role) == container_env(stream[role], role)
    off = documents("questlog-stream", "--set", f"{job}.enabled=false")
    names = [d["metadata"]["name"] for d in off if d["kind"] == "ScheduledSparkApplication"]
    assert len(names) == 1 and not names[0].endswith(job)


def test_forget_is_a_one_off_spark_application_of_the_users_erasure(tmp_path: Path) -> None:
    """k8s/deploy.sh forget renders templates/forget.yaml alone, the user's id in JSON
    values (which take any character, as --set does not); the release has none."""
    assert not [d for d in documents("questlog-stream") if "forget" in d["metadata"]["name"]]
    values = tmp_path / "forget.json"
    values.write_text(json.dumps({"forget": {"userId": "player,7 'x'", "run": "r1"}}))
    docs = documents("questlog-stream", "--show-only", "templates/forget.yaml", "-f", str(values))
    (forget,) = docs
    stream = find(documents("questlog-stream"), "SparkApplication")["spec"]
    spec = forget["spec"]
    assert forget["metadata"]["name"] == "questlog-stream-forget-r1"
    assert spec["mainApplicationFile"].endswith("/questlog_spark/forget.py")
    assert spec["arguments"] == ["player,7 'x'"] and spec["restartPolicy"] == {"type": "Never"}
    assert spec["sparkConf"] == stream["sparkConf"] and spec["image"] == stream["image"]
    key = {"secretKeyRef": {"name": "questlog-api-personal-data-key", "key": "personal-data-key"}}
    key["secretKeyRef"]["optional"] = True
    (driver,) = spec["driver"]["template"]["spec"]["containers"]
    assert {"name": "QUESTLOG__PERSONAL_DATA_KEY", "valueFrom": key} in driver["env"]
    assert container_env(spec["executor"], "executor") == container_env(
        stream["executor"], "executor"
    )


def test_production_maintains_the_lake_and_the_laptop_profile_does_not() -> None:
    def scheduled(*args: str) -> set[str]:
        return {
            d["metadata"]["name"]
            for d in documents("questlog", *args)
            if d["kind"] == "ScheduledSparkApplication"
        }

    assert scheduled("--values", str(PRODUCTION)) == {
        "questlog-stream-assessments",
        "questlog-stream-maintenance",
    }
    assert scheduled() == {"questlog-stream-assessments"}


def test_maintenance_refuses_to_remove_orphans_younger_than_a_day() -> None:
    result = template("questlog-stream", "--set", "maintenance.orphanHours=1", check=False)
    assert result.returncode != 0 and "orphanHours" in result.stderr


def test_metastore_runs_the_local_component_through_the_runner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = documents("questlog-metastore")
    (container,) = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "command" not in container  # the image's entrypoint (tini) stays
    assert container["args"] == ["python", "-m", "questlog.stack.container", Metastore.name]
    assert container["readinessProbe"]["exec"]["command"] == [*container["args"], "--check"]
    for item in container["env"]:
        if item.get("value"):
            monkeypatch.setenv(item["name"], item["value"])  # as the pod reads them
    settings = Settings()
    assert settings.metastore.db_url == (
        "jdbc:postgresql://questlog-metastore-postgresql:5432/metastore"
    )
    assert settings.lake.on_s3 and settings.s3.endpoint == "http://questlog-s3:8333"
    assert "valueFrom" in next(e for e in container["env"] if e["name"].endswith("DB_PASSWORD"))


def test_table_job_submits_tables_py_with_the_pipeline_conf() -> None:
    job = find(documents("questlog-metastore"), "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    command = container["args"]
    assert command[-1].endswith("/questlog_spark/tables.py")
    conf = dict(arg.removeprefix("--conf=").split("=", 1) for arg in command if "--conf=" in arg)
    assert PIPELINE_CONF.items() <= conf.items()
    assert set(PLACED_CONF_KEYS) <= set(conf)


def test_strimzi_kafka_topics_are_the_local_stacks() -> None:
    docs = documents("questlog", "--values", str(PRODUCTION))
    topics = [doc["spec"] for doc in docs if doc["kind"] == "KafkaTopic"]
    assert sorted(topic["topicName"] for topic in topics) == sorted(PIPELINE_TOPICS)
    values = yaml.safe_load((HELM_DIR / "questlog" / "values.yaml").read_text())
    default = str(values["kafka"]["topics"]["retentionHours"] * 3600 * 1000)
    for topic in topics:
        configured = TOPIC_CONFIGS.get(topic["topicName"], {}).get("retention.ms", default)
        assert topic["config"]["retention.ms"] == configured, topic["topicName"]


def test_every_chart_has_real_test_hooks() -> None:
    hooks = [
        doc
        for doc in documents("questlog")
        if doc.get("metadata", {}).get("annotations", {}).get("helm.sh/hook") == "test"
    ]
    commands = {
        hook["metadata"]["name"]: hook["spec"]["containers"][0].get("command")
        or hook["spec"]["containers"][0]["args"]
        for hook in hooks
    }
    assert set(commands) == {
        "questlog-api-test",
        "questlog-metastore-test",
        "questlog-stream-test",
        "questlog-trino-test",
        "questlog-pipeline-test",
    }
    pipeline = commands["questlog-pipeline-test"]
    assert pipeline[:3] == ["python", "-m", "questlog.smoke"]
    assert "--trino=http://trino:8080" in pipeline


def test_canary_runs_the_local_stack_command() -> None:
    deployment = find(documents("questlog"), "Deployment", "questlog-canary")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    settings = Settings(host="0.0.0.0", canary={"port": 8002, "interval_seconds": 30})
    in_cluster = {"--api": "http://questlog-api:8000", "--trino": "http://trino:8080"}
    expected = ["python"]
    for arg in Canary(settings).command()[1:]:
        option = arg.split("=", 1)[0]
        expected.append(f"{option}={in_cluster[option]}" if option in in_cluster else arg)
    assert container["command"] == expected


def test_loadtest_job_runs_the_local_scenarios() -> None:
    values = str(HELM_DIR / "questlog" / "ci" / "loadtest-values.yaml")
    job = find(documents("questlog", "--values", values), "Job", "questlog-loadtest-20261125-1200")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    files = container["command"][container["command"].index("-f") + 1].split(",")
    assert [Path(f).relative_to("/opt/questlog") for f in files] == [
        Path("loadtest/locustfile.py"),
        Path("loadtest/shapes/spike.py"),
    ]
    assert {e["name"] for e in container["env"]} >= {
        "QUESTLOG__LOAD__USERS",
        "QUESTLOG__LOAD__SECONDS",
        "QUESTLOG__LOAD__MAX_P95_MS",
    }
    schema = json.loads((HELM_DIR / "questlog" / "values.schema.json").read_text())
    assert schema["properties"]["loadtest"]["properties"]["shape"]["enum"] == load.SHAPES


def test_monitoring_ships_the_local_rules_and_the_dashboard() -> None:
    docs = documents("questlog", "--values", str(PRODUCTION))
    rule = find(docs, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(Prometheus.RULES.read_text())
    dashboard = find(docs, "ConfigMap", "questlog-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    panels = json.loads(dashboard["data"]["questlog-dashboard.json"])["panels"]
    assert len(panels) >= 10


# What a 2-CPU node can give the laptop profile's pods, all of them at once (test hooks
# aside): CPU requests in millicores, memory requests and limits in MiB.
LAPTOP_CPU_MILLIS = 1500
LAPTOP_MEMORY_MIB = 11 * 1024
CORE_KINDS = {
    "ConfigMap",
    "Deployment",
    "Job",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "Pod",
    "Role",
    "RoleBinding",
    "Secret",
    "Service",
    "ServiceAccount",
    "StatefulSet",
}


def quantity(value: str | int, units: dict[str, float]) -> float:
    text = str(value)
    for suffix, factor in units.items():
        if suffix and text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text) * units[""]


def millicores(value: str | int) -> float:
    return quantity(value, {"m": 1, "": 1000})


def mebibytes(value: str | int) -> float:
    return quantity(value, {"Gi": 1024, "Mi": 1, "g": 1024, "m": 1, "": 1 / 2**20})


def spark_pods(app: dict[str, Any]) -> list[tuple[float, float]]:
    """(millicores, MiB) requested by each pod of a SparkApplication spec: the heap plus
    its memoryOverhead, or Spark's default for a Python app (40 %, at least 384 MiB)."""
    pods = []
    for role, count in (("driver", 1), ("executor", app["executor"]["instances"])):
        heap = mebibytes(app[role]["memory"])
        overhead = app[role].get("memoryOverhead")
        beside = mebibytes(overhead) if overhead else max(0.4 * heap, 384)
        size = (millicores(app[role]["coreRequest"]), heap + beside)
        pods += [size] * count
    return pods


def workload_pods(docs: list[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """(millicores, MiB requested, MiB limit) of every pod the manifests run, but test hooks."""
    pods: list[tuple[float, float, float]] = []
    for doc in docs:
        if doc["metadata"].get("annotations", {}).get("helm.sh/hook") == "test":
            continue
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            spec = doc["spec"]["template"]["spec"]
            replicas = doc["spec"].get("replicas", 1)
            for container in spec["containers"]:
                resources = container["resources"]
                pod = (
                    millicores(resources["requests"]["cpu"]),
                    mebibytes(resources["requests"]["memory"]),
                    mebibytes(resources["limits"]["memory"]),
                )
                pods += [pod] * replicas
        elif doc["kind"] in ("SparkApplication", "ScheduledSparkApplication"):
            app = doc["spec"].get("template", doc["spec"])
            pods += [(cpu, memory, memory) for cpu, memory in spark_pods(app)]
    return pods


def test_the_laptop_profile_runs_questlogs_images_only_and_fits_two_cpus() -> None:
    docs = documents("questlog")
    kinds = {doc["kind"] for doc in docs}
    assert kinds - CORE_KINDS == {"SparkApplication", "ScheduledSparkApplication"}
    pod_specs = [
        doc["spec"]["template"]["spec"] if "template" in doc["spec"] else doc["spec"]
        for doc in docs
        if doc["kind"] in ("Deployment", "StatefulSet", "Job", "Pod")
    ]
    images = {c["image"] for spec in pod_specs for c in spec["containers"]}
    images |= {
        doc["spec"].get("template", doc["spec"])["image"]
        for doc in docs
        if "SparkApplication" in doc["kind"]
    }
    assert all(image.startswith("questlog/") and image.endswith(":0.1.0") for image in images)
    assert {image.split(":")[0] for image in images} >= {
        f"questlog/{name}"
        for name in (
            "ingest-api",
            "registry",
            "kafka",
            "versitygw",
            "postgresql",
            "trino",
            "prometheus",
            "spark-operator",
        )
    }
    pods = workload_pods(docs)
    cpu = sum(pod[0] for pod in pods)
    requested, limits = sum(pod[1] for pod in pods), sum(pod[2] for pod in pods)
    assert cpu < LAPTOP_CPU_MILLIS, f"{cpu:.0f}m of CPU requested"
    assert limits < LAPTOP_MEMORY_MIB, f"{requested:.0f} MiB requested, {limits:.0f} MiB limit"


def pod_labels(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The labels of every pod the manifests make, by the workload (or role) that makes it."""
    labels: dict[str, dict[str, str]] = {}
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            labels[name] = doc["spec"]["template"]["metadata"].get("labels", {})
        elif doc["kind"] == "Pod":
            labels[name] = doc["metadata"].get("labels", {})
        elif "SparkApplication" in doc["kind"]:
            app = doc["spec"].get("template", doc["spec"])
            for role in ("driver", "executor"):
                labels[f"{name}/{role}"] = app[role].get("labels", {})
    return labels


@PROFILES
def test_every_service_selects_the_pods_of_one_workload(values: list[str]) -> None:
    """A test hook's pod or a job's behind a Service would get its clients' requests."""
    docs = documents("questlog", *values)
    labels = pod_labels(docs)
    for service in (doc for doc in docs if doc["kind"] == "Service"):
        selector = service["spec"].get("selector", {})
        selected = [
            name
            for name, pod in labels.items()
            if all(pod.get(key) == value for key, value in selector.items())
        ]
        assert len(selected) == 1, f"Service {service['metadata']['name']} selects {selected}"


# The servers that admit only their clients, and the address their clients are given.
SERVERS = {
    "kafka": "questlog-kafka-bootstrap:9092",
    "registry": "questlog-api-registry:8003",
    "metastore": "questlog-metastore:9083",
    "postgresql": "questlog-metastore-postgresql:5432",
    "object-store": "questlog-s3:8333",
}


def pod_settings(docs: list[dict[str, Any]]) -> dict[str, str]:
    """What each pod of pod_labels is told, as text: its workload and the ConfigMaps it reads."""
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    settings = {}
    workloads = ("Deployment", "StatefulSet", "Job", "Pod")
    for doc in (d for d in docs if d["kind"] in workloads or "SparkApplication" in d["kind"]):
        text = yaml.safe_dump(doc)
        for name in re.findall(r"configMap(?:Ref|KeyRef)?:\s+(?:key: \S+\s+)?name: (\S+)", text):
            text += yaml.safe_dump(config_maps.get(name, {}))
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        roles = ("driver", "executor") if "SparkApplication" in doc["kind"] else ("",)
        settings |= {"/".join(filter(None, (name, role))): text for role in roles}
    return settings


def policies(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == "NetworkPolicy"]


def selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]["matchLabels"]
    return all(labels.get(key) == value for key, value in selector.items())


@PROFILES
def test_every_pod_is_isolated_by_a_network_policy(values: list[str]) -> None:
    docs = documents("questlog", *values)
    for pod, labels in pod_labels(docs).items():
        assert any(selects(policy, labels) for policy in policies(docs)), f"{pod} is open"


@PROFILES
def test_only_the_api_takes_connections_from_outside_the_namespace(values: list[str]) -> None:
    """A peer with a pod selector alone is a pod of the policy's namespace; a rule with no
    peers admits any address."""
    docs = documents("questlog", *values)
    for policy in policies(docs):
        rules = policy["spec"]["ingress"]
        peers = [peer for rule in rules for peer in rule.get("from", [])]
        assert all(list(peer) == ["podSelector"] for peer in peers), policy["metadata"]["name"]
        if any("from" not in rule for rule in rules):
            assert policy["metadata"]["name"] == "questlog-api"
            assert rules == [{"ports": [{"port": 8000, "protocol": "TCP"}]}]


@PROFILES
def test_kafka_the_metastore_postgresql_and_the_object_store_admit_only_their_clients(
    values: list[str],
) -> None:
    docs = documents("questlog", *values)
    labels, settings = pod_labels(docs), pod_settings(docs)
    kafka = [d for d in docs if d["kind"] == "Kafka"]
    for server, address in SERVERS.items():
        client = {f"questlog.dev/{server}-client": "true"}
        clients = [pod for pod, text in settings.items() if address in text]
        assert clients, f"no client of {server}"
        for pod in clients:
            assert labels[pod].items() >= client.items(), f"{pod} lacks {server}'s client label"
        if server == "kafka" and kafka:
            (listener,) = kafka[0]["spec"]["kafka"]["listeners"]
            assert listener["networkPolicyPeers"] == [{"podSelector": {"matchLabels": client}}]
            continue
        server_pods = [
            pod
            for pod, text in settings.items()
            if pod.split("/")[0] in ("Deployment", "StatefulSet")
            and f"containerPort: {address.split(':')[1]}" in text
        ]
        (server_pod,) = server_pods
        (policy,) = [p for p in policies(docs) if selects(p, labels[server_pod])]
        admitted = [
            peer["podSelector"] for rule in policy["spec"]["ingress"] for peer in rule["from"]
        ]
        # Kafka's brokers also connect to each other.
        assert admitted in (
            [{"matchLabels": client}],
            [{"matchLabels": client}, policy["spec"]["podSelector"]],
        ), admitted
        for pod, pod_labels_ in labels.items():
            if pod not in clients and pod != server_pod:
                assert not pod_labels_.items() >= client.items(), f"{pod} is {server}'s client"


@pytest.mark.parametrize("values", [None, PRODUCTION], ids=["default", "production"])
def test_every_pod_runs_with_service_links_on(values: Path | None) -> None:
    """Kubernetes' default: a pod has a variable for each Service of its namespace
    (QUESTLOG_METASTORE_PORT=tcp://... for questlog-metastore), which no setting's name is
    (tests/unit/settings: a pod reads its settings beside them)."""
    docs = documents("questlog", *(["--values", str(values)] if values else []))
    specs = [
        doc["spec"]["template"]["spec"] if "template" in doc["spec"] else doc["spec"]
        for doc in docs
        if doc["kind"] in ("Deployment", "StatefulSet", "Job", "Pod")
    ]
    specs += [
        doc["spec"].get("template", doc["spec"])[role]["template"]["spec"]
        for doc in docs
        if "SparkApplication" in doc["kind"]
        for role in ("driver", "executor")
    ]
    assert len(specs) > 10
    assert [spec for spec in specs if "enableServiceLinks" in spec] == []


def test_the_laptop_kafka_keeps_its_log_on_a_claim_and_announces_a_stable_name() -> None:
    docs = documents("questlog")
    kafka = find(docs, "StatefulSet", "questlog-kafka")
    pod = kafka["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert [c["metadata"]["name"] for c in kafka["spec"]["volumeClaimTemplates"]] == ["data"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "data"]
    # The runner keeps server.properties and the log under its state folder.
    assert Path(mount["mountPath"]) == Path("/var/lib/questlog")
    env = {e["name"]: e["value"] for e in container["env"]}
    brokers = find(docs, "Service", kafka["spec"]["serviceName"])
    assert brokers["spec"]["clusterIP"] == "None" and brokers["spec"]["publishNotReadyAddresses"]
    # The full name: the pod's own /etc/hosts has it before its DNS record exists.
    assert env["QUESTLOG__KAFKA__BOOTSTRAP"] == (
        f"questlog-kafka-0.{kafka['spec']['serviceName']}.questlog.svc.cluster.local:9092"
    )
    assert find(docs, "Service", "questlog-kafka-bootstrap")
    runner = ["python", "-m", "questlog.stack.container", "kafka"]
    assert container["readinessProbe"]["exec"]["command"] == [*runner, "--check"]
    post_start = " ".join(container["lifecycle"]["postStart"]["exec"]["command"])
    assert " ".join([*runner, "--after-ready"]) in post_start
    api = find(docs, "ConfigMap", "questlog-api")["data"]["QUESTLOG__KAFKA__BOOTSTRAP"]
    assert api == "questlog-kafka-bootstrap:9092"
    assert not [d for d in docs if d["kind"].startswith("Kafka")]


def test_the_laptop_trino_and_prometheus_are_where_their_clients_look() -> None:
    docs = documents("questlog")
    trino = find(docs, "Deployment", "trino")
    (container,) = trino["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["QUESTLOG__METASTORE__URI"] == "thrift://questlog-metastore:9083"
    assert env["QUESTLOG__S3__ENDPOINT"] == "http://questlog-s3:8333"
    assert find(docs, "Service", "trino")["spec"]["ports"][0]["port"] == 8080
    (prometheus,) = find(docs, "Deployment", "questlog-prometheus")["spec"]["template"]["spec"][
        "containers"
    ]
    targets = {e["name"]: e["value"] for e in prometheus["env"]}
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    for name in (
        "QUESTLOG__API__URL",
        "QUESTLOG__REGISTRY__URL",
        "QUESTLOG__STREAM__METRICS_URL",
        "QUESTLOG__CANARY__URL",
    ):
        host, port = targets[name].removeprefix("http://").split(":")
        assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]], name
    stopped = documents("questlog", "--set", "trino.replicas=0")
    assert find(stopped, "Deployment", "trino")["spec"]["replicas"] == 0
    hook = find(stopped, "Pod", "questlog-trino-test")
    assert hook["metadata"]["annotations"]["helm.sh/hook-weight"] == "-10"
    hook_env = {e["name"]: e["value"] for e in hook["spec"]["containers"][0]["env"]}
    assert hook_env == {"QUESTLOG__HOST": "trino", "QUESTLOG__TRINO__PORT": "8080"}


def test_the_laptop_spark_operator_watches_the_release_namespace_with_its_crds() -> None:
    docs = documents("questlog")
    operator = find(docs, "Deployment", "questlog-spark-operator")["spec"]["template"]["spec"]
    (container,) = operator["containers"]
    assert container["args"][:2] == ["controller", "start"]
    assert "--namespaces=questlog" in container["args"]
    assert not [d for d in docs if d["kind"].startswith("Cluster") or "Webhook" in d["kind"]]
    driver = find(docs, "SparkApplication")["spec"]["driver"]["serviceAccount"]
    assert find(docs, "RoleBinding", driver)["subjects"][0]["name"] == driver
    crds = sorted((HELM_DIR / "questlog" / "crds").glob("*.yaml"))
    kinds = {yaml.safe_load(path.read_text())["spec"]["names"]["kind"] for path in crds}
    assert kinds == {"SparkApplication", "ScheduledSparkApplication", "SparkConnect"}
    production = documents("questlog", "--values", str(PRODUCTION))
    assert not [d for d in production if d["metadata"]["name"].endswith("spark-operator")]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_hadolint(dockerfile: Path) -> None:
    # hadolint and shellcheck come with the virtual environment, which `run` puts on PATH.
    result = run("hadolint", str(dockerfile), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_shellcheck(script: str) -> None:
    result = run("shellcheck", "-x", script, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_installs_the_pinned_platform() -> None:
    pins = dict(
        line.split("=", 1)
        for line in (HELM_DIR / "platform" / "versions.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    script = (REPO_ROOT / "k8s" / "deploy.sh").read_text()
    for name in ("STRIMZI", "SPARK_OPERATOR", "TRINO", "PROMETHEUS"):
        assert f'--version "${name}_VERSION"' in script, name
        assert pins[f"{name}_VERSION"][0].isdigit()


def test_the_production_trino_has_the_local_catalogs_and_access_rules(tmp_path: Path) -> None:
    trino = Trino(
        Settings(
            state_dir=tmp_path,
            metastore={"uri": "thrift://questlog-metastore:9083"},
            lake={"root": "s3a://questlog-lake/warehouse"},
            s3={"endpoint": "http://questlog-s3:8333"},
        )
    )
    trino.prepare()
    values = yaml.safe_load((HELM_DIR / "platform" / "trino.yaml").read_text())
    platform = values["catalogs"]
    assert set(platform) == set(CATALOGS)
    for catalog, text in platform.items():
        rendered = (trino.conf_dir / "catalog" / f"{catalog}.properties").read_text()
        assert properties(text) == properties(rendered), catalog
    rules = values["accessControl"]["rules"][values["accessControl"]["configFile"]]
    assert json.loads(rules) == json.loads((trino.conf_dir / "rules.json").read_text())


def test_chart_readmes_are_generated_from_the_values() -> None:
    result = run(tool("helm_docs"), "--chart-search-root", str(HELM_DIR), "--dry-run")
    for chart in CHARTS:
        readme = (HELM_DIR / chart / "README.md").read_text()
        assert readme.strip() in result.stdout, f"helm/{chart}/README.md: run make chart-docs"


def environments(node: Any, docs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every container's variables in a rendered document, at any depth (pod templates, the
    SparkApplications' driver and executor): its ``env`` (a secret's as "secret") and the
    ConfigMaps of its ``envFrom``."""
    if isinstance(node, list):
        return [found for item in node for found in environments(item, docs)]
    if not isinstance(node, dict):
        return []
    own = []
    if isinstance(node.get("env"), list) or isinstance(node.get("envFrom"), list):
        variables = {
            name: value
            for source in node.get("envFrom", [])
            if "configMapRef" in source
            for name, value in find(docs, "ConfigMap", source["configMapRef"]["name"])[
                "data"
            ].items()
        }
        variables |= {e["name"]: str(e.get("value", "secret")) for e in node.get("env", [])}
        own.append(variables)
    return own + [
        found
        for key, value in node.items()
        if key not in ("env", "envFrom")
        for found in environments(value, docs)
    ]


# The models a pod's variables are read with: a deployable's own, else the tooling's (the
# images of Kafka, Trino, the metastore and Prometheus run the local stack's components).
MODELS = (ApiSettings, RegistrySettings, SparkSettings, LoadSettings, Settings)


@pytest.mark.parametrize("values", [None, PRODUCTION], ids=["default", "production"])
def test_every_pod_reads_its_settings(monkeypatch: pytest.MonkeyPatch, values: Path | None) -> None:
    """Each QUESTLOG__ variable a pod is given is a setting of one model, and together they
    are settings a process of that model can start with (a lake on S3 with its endpoint);
    no pod is given a setting by its old name."""
    docs = documents("questlog", *(["--values", str(values)] if values else []))
    checked = 0
    for given in (env for doc in docs for env in environments(doc, docs)):
        settings = {name: value for name, value in given.items() if name.startswith("QUESTLOG__")}
        old = {n for n in given if n.startswith("QUESTLOG_") and n not in settings}
        assert old <= {"QUESTLOG_WRITE_KEY"}, old  # the write key is a credential
        if not settings:
            continue
        model = next((m for m in MODELS if set(settings) <= variables(m)), None)
        assert model is not None, f"no process reads all of {sorted(settings)}"
        with monkeypatch.context() as patch:
            for name, value in settings.items():
                patch.setenv(name, value)
            read(model)
        checked += 1
    assert checked > 5
