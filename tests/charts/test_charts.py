"""The charts, validated offline: helm lint and ct lint, every chart rendered with each of
its ci/*-values.yaml through kubeconform -strict (Kubernetes and CRD schemas), values
schemas that refuse unknown keys, cross-field checks, hadolint on the Dockerfiles, and the
containers running what the local stack runs."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from questlog import load
from questlog.images import IMAGES
from questlog.images.bases import STANDINS
from questlog.settings import REPO_ROOT, StackSettings
from questlog.stack.components import (
    PIPELINE_TOPICS,
    TOPIC_CONFIGS,
    Canary,
    IngestApi,
    Metastore,
    Prometheus,
)
from questlog.stack.spark import PIPELINE_CONF, PLACED_CONF_KEYS, lake_environment
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

pytestmark = pytest.mark.usefixtures("built")
RENDERINGS = [(chart, values) for chart in DEPLOYABLE for values in ci_values(chart)]
DOCKERFILES = [REPO_ROOT / image.dockerfile for image in IMAGES] + [
    REPO_ROOT / standin.dockerfile for standin in STANDINS.values() if standin.dockerfile
]
SCRIPTS = ["k8s/deploy.sh", "spark-apps/entrypoint.sh"] + [
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
            # (tests/unit/test_prometheus_rules.py) and compared below.
            "-skip",
            "PrometheusRule",
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
    )


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
            ["registry.url=sqlite:////tmp/questlog/registry.db"],
            "SQLite keeps each pod's pilots to itself",
        ),
        ("questlog-api", ["settings.registry_url=sqlite://"], "with registry.url, not settings"),
        ("questlog-stream", ["metastore.uri=http://hms:9083"], "must be a thrift:// URI"),
        ("questlog-metastore", ["postgresql.enabled=false"], "externalDatabase.url must be"),
        ("questlog", ["kafka.topics.replicas=3"], "is more than the 1 Kafka nodes"),
        ("questlog", ["metastore.enabled=false"], "stream.enabled needs metastore.enabled"),
    ],
)
def test_inconsistent_values_fail_with_the_reason(
    chart: str, settings: list[str], reason: str
) -> None:
    args = [arg for setting in settings for arg in ("--set", setting)]
    result = template(chart, *args, check=False)
    assert result.returncode != 0
    assert reason in result.stderr


def test_config_change_rolls_the_api_pods() -> None:
    def checksum(*args: str) -> str:
        deployment = find(documents("questlog-api", *args), "Deployment")
        annotations: dict[str, str] = deployment["spec"]["template"]["metadata"]["annotations"]
        return annotations["checksum/config"]

    assert checksum() != checksum("--set", "settings.max_batch_events=100")


def test_api_container_runs_the_local_stack_command() -> None:
    docs = documents("questlog-api", "--set", "settings.max_batch_events=100")
    (container,) = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    local = IngestApi(StackSettings(host="0.0.0.0", api_port=8000))
    assert container["command"] == ["python", *local.command()[1:]]
    settings = find(docs, "ConfigMap")["data"]
    assert set(local.environment()) <= set(settings)
    assert settings["QUESTLOG_MAX_BATCH_EVENTS"] == "100"


def test_the_pilot_registry_shares_the_metastores_postgresql() -> None:
    """On Kubernetes the API's replicas keep their pilots in one PostgreSQL database: the
    one the metastore chart runs, which creates it and holds its password."""
    docs = documents("questlog")
    url = find(docs, "ConfigMap", "questlog-api")["data"]["QUESTLOG_REGISTRY_URL"]
    service = find(docs, "StatefulSet", "questlog-metastore-postgresql")["spec"]["serviceName"]
    assert url == f"postgresql+psycopg://metastore@{service}:5432/registry"
    initdb = find(docs, "ConfigMap", f"{service}-initdb")
    assert "CREATE DATABASE registry;" in initdb["data"]["extra-databases.sql"]
    [api_pod] = find(docs, "Deployment", "questlog-api")["spec"]["template"]["spec"]["containers"]
    [password] = [e for e in api_pod["env"] if e["name"] == "QUESTLOG_REGISTRY_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"] == {"name": service, "key": "password"}
    single = documents(
        "questlog-api",
        *("--set", "autoscaling.enabled=false", "--set", "podDisruptionBudget.enabled=false"),
        *("--set", "replicaCount=1", "--set", "registry.url=sqlite:////tmp/r.db"),
    )
    assert find(single, "ConfigMap")["data"]["QUESTLOG_REGISTRY_URL"] == "sqlite:////tmp/r.db"


def container_env(pod: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in pod["env"]}


def test_spark_application_runs_the_local_stream_with_its_settings() -> None:
    app = find(documents("questlog-stream"), "SparkApplication")["spec"]
    assert app["mainApplicationFile"].endswith("/questlog_spark/stream.py")
    assert app["restartPolicy"]["type"] == "Always"
    conf = app["sparkConf"]
    assert PIPELINE_CONF.items() <= conf.items()
    assert set(PLACED_CONF_KEYS) <= set(conf)
    local_keys = set(lake_environment(StackSettings()))
    for role in ("driver", "executor"):
        assert set(container_env(app[role])) == local_keys
    assert container_env(app["driver"])["QUESTLOG_CHECKPOINT_ROOT"].startswith("s3a://")


def test_the_assessments_rebuild_runs_the_local_batch_on_a_schedule() -> None:
    docs = documents("questlog-stream", "--set", "assessments.graceMinutes=5")
    scheduled = find(docs, "ScheduledSparkApplication")["spec"]
    assert scheduled["concurrencyPolicy"] == "Forbid"
    app, stream = scheduled["template"], find(docs, "SparkApplication")["spec"]
    assert app["mainApplicationFile"].endswith("/questlog_spark/assessments.py")
    assert app["arguments"] == ["--grace-minutes=5"]
    assert app["sparkConf"] == stream["sparkConf"] and app["image"] == stream["image"]
    for role in ("driver", "executor"):
        assert container_env(app[role]) == container_env(stream[role])
    off = documents("questlog-stream", "--set", "assessments.enabled=false")
    assert not [d for d in off if d["kind"] == "ScheduledSparkApplication"]


def test_metastore_runs_the_local_command_and_hive_site() -> None:
    docs = documents("questlog-metastore")
    (container,) = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    local = Metastore(StackSettings(metastore_port=9083)).command()
    # The same JVM flags, class and arguments; only the paths of java and jars differ.
    assert container["command"][0] == "java"
    assert container["command"][1:4] == local[1:4]
    assert container["command"][-3:] == local[-3:]
    hive_site = find(docs, "ConfigMap", "questlog-metastore")["data"]["hive-site.xml"]
    assert "${" not in hive_site.replace("${env.QUESTLOG_METASTORE_DB_PASSWORD}", "")
    assert "jdbc:postgresql://questlog-metastore-postgresql:5432/metastore" in hive_site


def test_table_job_submits_tables_py_with_the_pipeline_conf() -> None:
    job = find(documents("questlog-metastore"), "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[-1].endswith("/questlog_spark/tables.py")
    conf = dict(arg.removeprefix("--conf=").split("=", 1) for arg in command if "--conf=" in arg)
    assert PIPELINE_CONF.items() <= conf.items()
    assert set(PLACED_CONF_KEYS) <= set(conf)


def test_kafka_topics_are_the_local_stacks() -> None:
    topics = [doc["spec"] for doc in documents("questlog") if doc["kind"] == "KafkaTopic"]
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
        hook["metadata"]["name"]: hook["spec"]["containers"][0]["command"] for hook in hooks
    }
    assert set(commands) == {
        "questlog-api-test",
        "questlog-metastore-test",
        "questlog-stream-test",
        "questlog-pipeline-test",
    }
    pipeline = commands["questlog-pipeline-test"]
    assert pipeline[:3] == ["python", "-m", "questlog.smoke"]
    assert "--trino=http://trino:8080" in pipeline


def test_canary_runs_the_local_stack_command() -> None:
    deployment = find(documents("questlog"), "Deployment", "questlog-canary")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    settings = StackSettings(host="0.0.0.0", canary_port=8002, canary_interval_seconds=30)
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
        "QUESTLOG_LOAD_USERS",
        "QUESTLOG_LOAD_SECONDS",
        "QUESTLOG_LOAD_MAX_P95_MS",
    }
    schema = json.loads((HELM_DIR / "questlog" / "values.schema.json").read_text())
    assert schema["properties"]["loadtest"]["properties"]["shape"]["enum"] == load.SHAPES


def test_monitoring_ships_the_local_rules_and_the_dashboard() -> None:
    docs = documents("questlog")
    rule = find(docs, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(Prometheus.RULES.read_text())
    dashboard = find(docs, "ConfigMap", "questlog-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    panels = json.loads(dashboard["data"]["questlog-dashboard.json"])["panels"]
    assert len(panels) >= 10


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
    trino_catalog = yaml.safe_load((HELM_DIR / "platform" / "trino.yaml").read_text())
    assert (
        "hive.metastore.uri=thrift://questlog-metastore:9083" in trino_catalog["catalogs"]["hive"]
    )


def test_chart_readmes_are_generated_from_the_values() -> None:
    result = run(tool("helm_docs"), "--chart-search-root", str(HELM_DIR), "--dry-run")
    for chart in CHARTS:
        readme = (HELM_DIR / chart / "README.md").read_text()
        assert readme.strip() in result.stdout, f"helm/{chart}/README.md: run make chart-docs"
