#!/bin/bash
# Entry point of the SCC image, for the CronJob, luigid, and Spark's driver and executor pods.
#
#   entrypoint.sh driver ARGS...     Spark on Kubernetes starts the driver pod with these arguments
#   entrypoint.sh executor           ... and each executor pod with this one (settings come as SPARK_* variables)
#   entrypoint.sh COMMAND ARGS...    anything else runs as given (scc nightly, luigid, spark-submit, spark-class)
#
# OpenShift runs the container as an arbitrary UID that has no /etc/passwd entry. Java then reports user.name and
# user.home as "?", and Hadoop's login (UserGroupInformation, which every Spark JVM runs) fails with "Invalid UID,
# could not determine effective user" whatever HADOOP_USER_NAME says. Rather than a group-writable /etc/passwd,
# the entry is added through nss_wrapper: a private passwd file, preloaded for this process and its children.
set -euo pipefail

: "${HOME:=/tmp/scc-home}"
export HOME
mkdir -p "$HOME" 2>/dev/null || true

if ! getent passwd "$(id -u)" >/dev/null 2>&1; then
    nss_wrapper=$(compgen -G '/usr/lib/*/libnss_wrapper.so' | head -n 1 || true)
    if [ -n "$nss_wrapper" ] && [ -w "$HOME" ]; then
        passwd_file="$HOME/.scc-passwd"
        cp /etc/passwd "$passwd_file"
        echo "${SCC_USER_NAME:-scc}:x:$(id -u):$(id -g):SCC:$HOME:/sbin/nologin" >>"$passwd_file"
        export NSS_WRAPPER_PASSWD="$passwd_file" NSS_WRAPPER_GROUP=/etc/group
        export LD_PRELOAD="$nss_wrapper${LD_PRELOAD:+ $LD_PRELOAD}"
    else
        echo "entrypoint: uid $(id -u) has no passwd entry and nss_wrapper or a writable HOME ($HOME) is missing;" \
             "Spark and Hadoop will fail to log in" >&2
    fi
fi
# Spark and Hadoop name the user after these when set; the Python side (luigi's worker info) reads USER.
export SPARK_USER="${SPARK_USER:-${SCC_USER_NAME:-scc}}" HADOOP_USER_NAME="${HADOOP_USER_NAME:-${SCC_USER_NAME:-scc}}"
export USER="${USER:-${SCC_USER_NAME:-scc}}"

SPARK_HOME="${SPARK_HOME:-$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}"
export SPARK_HOME

case "${1:-}" in
    driver)
        # Spark on Kubernetes, cluster deploy mode: this pod is the driver of one job.
        shift
        exec spark-submit --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS}" --deploy-mode client "$@"
        ;;
    executor)
        # Spark on Kubernetes: one executor. The driver passes its settings as variables; the JVM options come
        # as SPARK_JAVA_OPT_0, SPARK_JAVA_OPT_1, ... in order.
        shift
        java_opts=()
        while IFS= read -r name; do
            java_opts+=("${!name}")
        done < <(compgen -v SPARK_JAVA_OPT_ | sort -t_ -k4 -n)
        classpath="${SPARK_CONF_DIR:-$SPARK_HOME/conf}:$SPARK_HOME/jars/*${SPARK_EXTRA_CLASSPATH:+:$SPARK_EXTRA_CLASSPATH}"
        exec "${JAVA_HOME:-/usr}/bin/java" "${java_opts[@]}" \
            -Xms"$SPARK_EXECUTOR_MEMORY" -Xmx"$SPARK_EXECUTOR_MEMORY" -cp "$classpath" \
            org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
            --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" --cores "$SPARK_EXECUTOR_CORES" \
            --app-id "$SPARK_APPLICATION_ID" --hostname "$SPARK_EXECUTOR_POD_IP" \
            --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID" --podName "$SPARK_EXECUTOR_POD_NAME"
        ;;
    *)
        exec "$@"
        ;;
esac
