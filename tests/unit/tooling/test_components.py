import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from questlog.settings import Settings
from questlog.stack.components import (
    Kafka,
    Metastore,
    Prometheus,
    Stream,
    Trino,
    kafka_cluster_id,
)
from questlog.stack.java import trino_java
from questlog.stack.spark import spark_conf
from tests.helpers import properties


def settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", **overrides)


def test_kafka_cluster_ids_are_never_taken_for_options() -> None:
    # One in 64 random ids starts with '-'; 2,000 draws find one all but surely.
    ids = {kafka_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert not [i for i in ids if i.startswith("-") or len(i) != 22]


def test_kafka_listens_on_the_chosen_ports(tmp_path: Path) -> None:
    kafka = Kafka(settings(tmp_path, kafka={"port": 19092, "controller_port": 19093}))
    kafka.write_config()
    config = properties((kafka.conf_dir / "server.properties").read_text())
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert config["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert config["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert config["log.dirs"] == str(kafka.data_dir)
    assert config["process.roles"] == "broker,controller"


def test_kafka_in_a_container_announces_the_address_clients_use(tmp_path: Path) -> None:
    kafka = Kafka(settings(tmp_path, host="0.0.0.0", kafka={"bootstrap": "kafka:9092"}))
    kafka.write_config()
    config = properties((kafka.conf_dir / "server.properties").read_text())
    assert config["listeners"] == "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093"
    assert config["advertised.listeners"] == "PLAINTEXT://kafka:9092"
    assert config["controller.quorum.bootstrap.servers"] == "kafka:9093"


def hive_site(metastore: Metastore) -> dict[str, str | None]:
    root = ET.parse(metastore.conf_dir / "hive-site.xml").getroot()
    return {p.findtext("name") or "": p.findtext("value") for p in root.iter("property")}


def test_metastore_defaults_to_derby_under_the_state_folder(tmp_path: Path) -> None:
    metastore = Metastore(settings(tmp_path, metastore={"port": 19083}))
    metastore.prepare()
    site = hive_site(metastore)
    assert site["javax.jdo.option.ConnectionURL"] == (
        f"jdbc:derby:;databaseName={tmp_path}/state/data/metastore/metastore_db;create=true"
    )
    assert site["hive.metastore.warehouse.dir"] == (tmp_path / "state" / "lake").as_uri()
    assert metastore.command()[-2:] == ["-p", "19083"]
    assert metastore.command()[metastore.command().index("-cp") + 1].startswith(
        str(metastore.conf_dir) + ":"
    )


def test_metastore_jdbc_url_survives_xml_escaping(tmp_path: Path) -> None:
    url = "jdbc:postgresql://db:5432/metastore?ssl=true&sslmode=require"
    metastore = Metastore(settings(tmp_path, metastore={"db_url": url, "db_password": "p<&>"}))
    metastore.prepare()
    site = hive_site(metastore)
    assert site["javax.jdo.option.ConnectionURL"] == url
    assert site["javax.jdo.option.ConnectionDriverName"] == "org.postgresql.Driver"
    assert site["javax.jdo.option.ConnectionPassword"] == "p<&>"


def test_trino_serves_the_hive_and_iceberg_catalogs_on_loopback(tmp_path: Path) -> None:
    trino = Trino(settings(tmp_path, trino={"port": 18080}, metastore={"port": 19083}))
    trino.prepare()
    config = properties((trino.conf_dir / "config.properties").read_text())
    assert config["http-server.http.port"] == "18080"
    assert config["node.internal-address"] == "127.0.0.1"
    assert config["catalog.config-dir"] == str(trino.conf_dir / "catalog")
    catalog = properties((trino.conf_dir / "catalog" / "hive.properties").read_text())
    assert catalog["connector.name"] == "hive"
    assert catalog["hive.metastore.uri"] == "thrift://127.0.0.1:19083"
    # hive.default.<t> keeps answering for the Iceberg tables.
    assert catalog["hive.iceberg-catalog-name"] == "iceberg"
    iceberg = properties((trino.conf_dir / "catalog" / "iceberg.properties").read_text())
    assert iceberg["connector.name"] == "iceberg"
    assert iceberg["iceberg.catalog.type"] == "hive_metastore"
    assert iceberg["hive.metastore.uri"] == "thrift://127.0.0.1:19083"
    # The metastore has no lock tables; Trino must not ask it for a lock.
    assert iceberg["iceberg.hive-catalog.locking-enabled"] == "false"
    assert iceberg["iceberg.security"] == "read_only", "Spark is the one writer"
    command = trino.command()
    assert command[0] == trino_java()
    assert command[-1] == "io.trino.server.TrinoServer"
    assert not any("jdk.incubator.vector" in arg for arg in command)


def test_stream_runs_the_streaming_app_with_the_stacks_settings(tmp_path: Path) -> None:
    stream = Stream(settings(tmp_path, stream={"metrics_port": 18001}, spark={"heap": "2g"}))
    command, env = stream.command(), stream.environment()
    assert command[0].endswith("bin/spark-submit")
    assert command[-1].endswith("questlog_spark/stream.py")
    assert command[command.index("--driver-memory") + 1] == "2g"
    assert env["QUESTLOG__LAKE__ROOT"] == (tmp_path / "state" / "lake").as_uri()
    assert env["QUESTLOG__LAKE__CHECKPOINT_ROOT"].startswith((tmp_path / "state").as_uri())
    assert env["QUESTLOG__STREAM__METRICS_PORT"] == "18001"
    assert stream.endpoint == "http://127.0.0.1:18001/metrics"


def test_prometheus_scrapes_the_services_and_stream_and_loads_the_rules(tmp_path: Path) -> None:
    prometheus = Prometheus(
        settings(
            tmp_path, prometheus={"port": 19090}, api={"port": 18000}, registry={"port": 18003}
        )
    )
    prometheus.prepare()
    config = yaml.safe_load((prometheus.conf_dir / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets["questlog-api"] == ["127.0.0.1:18000"]
    assert targets["questlog-registry"] == ["127.0.0.1:18003"]
    assert targets["questlog-stream"] == ["127.0.0.1:8001"]
    assert config["rule_files"] == [str(Prometheus.RULES)]
    assert "--web.listen-address=127.0.0.1:19090" in prometheus.command()


def test_a_lake_on_s3_configures_every_reader_and_writer(tmp_path: Path) -> None:
    on_s3 = settings(
        tmp_path,
        host="0.0.0.0",
        metastore={"uri": "thrift://metastore:9083"},
        trino={"url": "http://trino:8080"},
        lake={"root": "s3a://lake/warehouse"},
        s3={"endpoint": "http://s3:8333"},
    )
    trino = Trino(on_s3)
    trino.prepare()
    config = properties((trino.conf_dir / "config.properties").read_text())
    assert config["discovery.uri"] == "http://trino:8080"
    assert config["node.internal-address"] == "trino"
    catalog = properties((trino.conf_dir / "catalog" / "hive.properties").read_text())
    assert catalog["hive.metastore.uri"] == "thrift://metastore:9083"
    assert catalog["fs.native-s3.enabled"] == "true"
    assert catalog["s3.endpoint"] == "http://s3:8333"
    assert catalog["s3.aws-secret-key"] == "${ENV:AWS_SECRET_ACCESS_KEY}"
    assert "fs.hadoop.enabled" not in catalog
    iceberg = properties((trino.conf_dir / "catalog" / "iceberg.properties").read_text())
    assert iceberg["s3.endpoint"] == "http://s3:8333"

    metastore = Metastore(on_s3)
    metastore.prepare()
    assert hive_site(metastore)["hive.metastore.warehouse.dir"] == "s3a://lake/warehouse"
    root = ET.parse(metastore.conf_dir / "core-site.xml").getroot()
    core = {p.findtext("name"): p.findtext("value") for p in root.iter("property")}
    assert core["fs.s3a.endpoint"] == "http://s3:8333"
    assert core["fs.s3a.connection.ssl.enabled"] == "False"

    conf = spark_conf(on_s3)
    assert conf["spark.sql.warehouse.dir"] == "s3a://lake/warehouse"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.hive.metastore.uris"] == "thrift://metastore:9083"


def test_a_lake_on_this_machine_has_no_s3_settings(tmp_path: Path) -> None:
    local = settings(tmp_path)
    metastore = Metastore(local)
    metastore.prepare()
    assert not list(ET.parse(metastore.conf_dir / "core-site.xml").getroot().iter("property"))
    assert not [key for key in spark_conf(local) if "s3a" in key]
    trino = Trino(local)
    trino.prepare()
    for catalog in ("hive", "iceberg"):
        catalog_file = trino.conf_dir / "catalog" / f"{catalog}.properties"
        assert properties(catalog_file.read_text())["fs.hadoop.enabled"] == "true"


def test_the_component_runner_needs_none_of_the_apis_packages() -> None:
    """The Kafka, metastore and Trino images run it without SQLAlchemy or FastAPI."""
    blocked = "import sys; sys.modules.update(sqlalchemy=None, fastapi=None, alembic=None); "
    subprocess.run(
        [sys.executable, "-c", blocked + "import questlog.stack.container"],
        check=True,
        capture_output=True,
    )
