"""What Spark needs to use the lake: the session settings every job shares and the S3A settings of an
``s3://`` lake (``s3a://`` to Hadoop), with the jars ``make jars`` fetched.

Credentials are never among these settings: they travel as ``AWS_*`` variables in spark-submit's environment,
so secrets never appear on a command line or in the Spark UI. Executors on a cluster do not inherit that
environment, but Spark copies the driver's ``AWS_*`` into the Hadoop configuration that ships with every job;
the Simple/Temporary provider reads them there, the environment provider wherever they are set.
"""

from __future__ import annotations

import os
from pathlib import Path

from lake.errors import LakeError
from lake.settings import S3Settings

JARS_DIR = Path(__file__).resolve().parents[1] / "spark" / "jars" / "target" / "jars"
ENV_CREDENTIALS_PROVIDER = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
SIMPLE_CREDENTIALS_PROVIDER = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
TEMPORARY_CREDENTIALS_PROVIDER = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
CREDENTIALS_PROVIDER_KEY = "spark.hadoop.fs.s3a.aws.credentials.provider"

# Set once, here, for every session a job builds (jobs/_common.py) and the tests' session: timestamps are UTC
# end to end, and Parquet timestamps are INT64 microseconds (pyarrow reads them as timestamp[us, tz=UTC]).
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
# A local Spark (a hand run of jobs/<name>.py, a laptop) listens on the machine only, with no web UI: its driver
# RPC, block manager and UI would otherwise bind to every interface. Applied only to what is not set already, so
# a cluster's spark-submit --conf or properties file wins.
LOCAL_BIND_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
}


# A store that stops answering must fail a Spark job in a minute or two, not hang it. hadoop-aws 3.4.2's defaults
# (core-default.xml) wrap each request's fs.s3a.attempts.maximum = 5 SDK attempts in fs.s3a.retry.limit = 7 S3A
# retries with exponential backoff from fs.s3a.retry.interval = 500ms, over a 30 s connect and a 200 s read
# timeout: a job whose store went away mid-write was still retrying after 5 minutes (tests/faults/test_outages.py).
# These are the bounds the lake's own S3 client has (lake.storage.S3Lake: 3 attempts, a 5 s connect and a 60 s
# request timeout); a store back within seconds still sees the retries through.
S3A_DEADLINES = {
    "spark.hadoop.fs.s3a.attempts.maximum": "2",
    "spark.hadoop.fs.s3a.retry.limit": "2",
    "spark.hadoop.fs.s3a.connection.establish.timeout": "5s",
    "spark.hadoop.fs.s3a.connection.timeout": "60s",
}


class JarsMissing(LakeError):
    """The S3A jars are not where ``make jars`` puts them."""


def s3a_jars(jars_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The jars ``make jars`` fetched (hadoop-aws, AWS SDK v2 modules, spark-hadoop-cloud), sorted."""
    folder = Path(jars_dir) if jars_dir else JARS_DIR
    jars = sorted(folder.glob("*.jar")) if folder.is_dir() else []
    if not any(j.name.startswith("hadoop-aws-") for j in jars):
        raise JarsMissing(f"no hadoop-aws jar under {folder}: run 'make jars' to fetch the S3A jars")
    return jars


def s3a_conf(s: S3Settings, jars_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``--conf`` settings that let Spark read and write an ``s3://`` lake as ``s3a://``."""
    conf = {
        "spark.jars": ",".join(str(j) for j in s3a_jars(jars_dir)),
        "spark.hadoop.fs.s3a.endpoint.region": s.region,
        "spark.hadoop.fs.s3a.path.style.access": "true" if s.path_style else "false",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "true" if s.scheme == "https" else "false",
        CREDENTIALS_PROVIDER_KEY: ",".join([
            TEMPORARY_CREDENTIALS_PROVIDER if s.session_token else SIMPLE_CREDENTIALS_PROVIDER,
            ENV_CREDENTIALS_PROVIDER,
        ]),
        # The magic committer writes task output to its final place as pending multipart uploads and
        # completes them at job commit: no copy-based renames on S3. It needs spark-hadoop-cloud (pom).
        "spark.hadoop.fs.s3a.committer.name": "magic",
        "spark.hadoop.fs.s3a.committer.magic.enabled": "true",
        "spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3a":
            "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory",
        "spark.sql.sources.commitProtocolClass":
            "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol",
        "spark.sql.parquet.output.committer.class":
            "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter",
        **S3A_DEADLINES,
    }
    if s.endpoint_url:
        conf["spark.hadoop.fs.s3a.endpoint"] = s.endpoint_url
    return conf
