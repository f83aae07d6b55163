"""offerstream nightly maintenance.

Airflow only runs offerstream's batch commands here; the service itself (``offerstream run``) is a
long-running daemon kept alive by its own supervisor (systemd, Kubernetes), never an Airflow task:
it consumes Kafka continuously and a scheduler's retries and timeouts would only get in its way.

Tasks, nightly at 02:00 UTC:
  prune  ``offerstream prune --older-than 30d``: deletes the bookkeeping of campaigns that ended over
         30 days ago, in short batches, safe while the service runs (README "Retention").
  report ``offerstream report --since 1d --json`` into ``<report dir>/offerstream-report-<ds>.json``
         (written to a temporary file and renamed, so a half-written report never appears).

Configuration (Airflow Variables, or the matching AIRFLOW_VAR_* environment variables):
  offerstream_command      how to invoke the CLI          [offerstream]
  offerstream_prune_older  retention, e.g. 30d, 12h      [30d]
  offerstream_prune_flags  extra prune flags, e.g. --feedback-too  []
  offerstream_report_dir   where the daily reports go    [/var/lib/offerstream/reports]
The connection settings (DATABASE_URL, KAFKA_BROKERS, KAFKA_SASL_*, ...) come from the worker's
environment, which the tasks inherit; keep secrets there or in a secrets backend, not in Variables.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

CMD = "{{ var.value.get('offerstream_command', 'offerstream') }}"
REPORT_DIR = "{{ var.value.get('offerstream_report_dir', '/var/lib/offerstream/reports') }}"

with DAG(
    dag_id="offerstream_maintenance",
    description="offerstream retention (prune) and the daily per-restaurant report",
    doc_md=__doc__,
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "execution_timeout": timedelta(hours=2)},
    tags=["offerstream"],
) as dag:
    prune = BashOperator(
        task_id="prune",
        bash_command=(
            f"{CMD} prune --older-than {{{{ var.value.get('offerstream_prune_older', '30d') }}}} "
            "{{ var.value.get('offerstream_prune_flags', '') }}"
        ),
        append_env=True,
    )
    report = BashOperator(
        task_id="report",
        bash_command=(
            f"set -euo pipefail; mkdir -p {REPORT_DIR}; "
            f'out="{REPORT_DIR}/offerstream-report-{{{{ ds }}}}.json"; '
            f'{CMD} report --since 1d --json > "$out.tmp"; mv "$out.tmp" "$out"'
        ),
        append_env=True,
    )
    prune >> report
